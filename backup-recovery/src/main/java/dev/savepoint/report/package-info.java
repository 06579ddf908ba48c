/** The status page: a self-contained HTML report of plans, backups, drills and overdue items. */
@NullMarked
package dev.savepoint.report;

import org.jspecify.annotations.NullMarked;
