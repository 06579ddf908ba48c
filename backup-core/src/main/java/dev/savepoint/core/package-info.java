/**
 * The pipeline (plans, sources, transforms, targets, verifiers), the repository and its stores, and the operations
 * around them: scheduling, retention, RPO, approvals, audit, metrics and notifications.
 */
@NullMarked
package dev.savepoint.core;

import org.jspecify.annotations.NullMarked;
