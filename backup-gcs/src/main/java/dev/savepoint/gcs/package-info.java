/** Google Cloud Storage: the repository store and the objects of bucket backups. */
@NullMarked
package dev.savepoint.gcs;

import org.jspecify.annotations.NullMarked;
