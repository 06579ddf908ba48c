package dev.savepoint.core;

import java.io.IOException;

/**
 * Checks a finished backup. Integrity problems are reported as failed results (naming the artifact, the
 * expected and the actual value); an {@link IOException} means the check itself could not run.
 */
@FunctionalInterface
public interface Verifier {
  VerificationResult verify(Repository repository, Manifest manifest) throws IOException;
}
