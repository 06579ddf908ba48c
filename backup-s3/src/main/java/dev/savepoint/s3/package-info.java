/** Amazon S3 and S3-compatible object stores: the repository store and the objects of bucket backups. */
@NullMarked
package dev.savepoint.s3;

import org.jspecify.annotations.NullMarked;
