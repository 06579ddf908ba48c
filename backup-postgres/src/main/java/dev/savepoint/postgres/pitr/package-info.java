/** Point-in-time recovery: WAL streaming and archiving, base backups, and restores to any second. */
@NullMarked
package dev.savepoint.postgres.pitr;

import org.jspecify.annotations.NullMarked;
