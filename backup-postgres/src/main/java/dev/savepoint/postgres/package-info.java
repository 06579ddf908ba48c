/** PostgreSQL logical backups and restores: sources, targets, tier replacement, drills and locks. */
@NullMarked
package dev.savepoint.postgres;

import org.jspecify.annotations.NullMarked;
