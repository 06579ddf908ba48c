/** What is backed up and restored besides databases: directories and files, object store buckets, streams, environment files. */
@NullMarked
package dev.savepoint.core.sources;

import org.jspecify.annotations.NullMarked;
