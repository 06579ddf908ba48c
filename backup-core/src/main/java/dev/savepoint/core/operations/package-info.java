/** Running backups unattended: the scheduler, retention, RPO monitoring, locks across replicas, notifications and metrics. */
@NullMarked
package dev.savepoint.core.operations;

import org.jspecify.annotations.NullMarked;
