/**
 * The pipeline and the repository: plans ({@link dev.savepoint.core.BackupPlan}), sources, transforms, restore
 * targets and verifiers as interfaces, the manifest, {@link dev.savepoint.core.Repository}, secrets — and every
 * exception, so that one package holds what callers catch. Stores are in {@code .store}; file, bucket, stream and
 * environment sources and targets in {@code .sources}; scheduling, retention, RPO, locks, notifications and metrics
 * in {@code .operations}; approvals, the audit log and manifest signing in {@code .security}.
 */
@NullMarked
package dev.savepoint.core;

import org.jspecify.annotations.NullMarked;
