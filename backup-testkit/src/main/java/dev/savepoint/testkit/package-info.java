/** Real servers for tests: a PostgreSQL cluster and an S3 server on 127.0.0.1, and the store contract. */
@NullMarked
package dev.savepoint.testkit;

import org.jspecify.annotations.NullMarked;
