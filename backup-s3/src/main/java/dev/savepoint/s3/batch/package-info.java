/** Server-side bulk copies of a bucket's objects into the repository (S3 Batch Operations). */
@NullMarked
package dev.savepoint.s3.batch;

import org.jspecify.annotations.NullMarked;
