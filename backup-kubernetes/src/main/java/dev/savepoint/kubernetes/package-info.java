/** Kubernetes leases as the lock that keeps one backup per slot across replicas. */
@NullMarked
package dev.savepoint.kubernetes;

import org.jspecify.annotations.NullMarked;
