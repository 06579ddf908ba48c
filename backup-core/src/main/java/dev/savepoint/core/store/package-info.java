/** Where backups are stored: the {@code Store} interface, the filesystem and in-memory stores, the retrying and metered decorators, archive storage classes. */
@NullMarked
package dev.savepoint.core.store;

import org.jspecify.annotations.NullMarked;
