package dev.savepoint.core;

import dev.savepoint.core.store.ObjectInfo;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.List;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/** The built-in verifiers, cheapest first. */
public final class Verifiers {
  private Verifiers() {}

  /**
   * Every artifact exists with the recorded stored size, and the backup stores at least
   * {@code minStoredBytes} in all (the "a backup under 1 MB is a failure" check).
   */
  public static Verifier presence(long minStoredBytes) {
    return (repository, manifest) -> {
      VerificationResult missing = everyArtifact(repository, manifest, "presence", a -> {
        Optional<ObjectInfo> info = repository.store().stat(a.key());
        if (info.isEmpty()) {
          throw new ObjectNotFoundException("artifact '" + a.name() + "' (" + a.key() + ") is missing");
        }
        if (info.get().size() != a.storedBytes()) {
          throw new IntegrityException("artifact '" + a.name() + "' (" + a.key() + ") size mismatch: expected "
              + a.storedBytes() + " bytes, actual " + info.get().size());
        }
      });
      if (missing != null) {
        return missing;
      }
      if (manifest.storedBytes() < minStoredBytes) {
        return VerificationResult.fail("presence", "backup stores " + manifest.storedBytes()
            + " bytes, less than the required minimum of " + minStoredBytes);
      }
      return VerificationResult.pass("presence", manifest.artifactCount() + " artifacts, " + manifest.storedBytes()
          + " bytes stored");
    };
  }

  /** Re-reads every stored object and compares its size and SHA-256 with the manifest. */
  public static Verifier storedDigest() {
    return (repository, manifest) -> readEvery(repository, manifest, repository::openStored, "stored-digest",
        "stored SHA-256 of " + manifest.artifactCount() + " artifacts match");
  }

  /**
   * Reads every artifact back, reverses its transform chain and compares the raw size and SHA-256 with the
   * manifest: proves the backup can be decoded with the given secrets.
   */
  public static Verifier roundTrip(Secrets secrets) {
    return (repository, manifest) -> readEvery(repository, manifest, a -> repository.openRaw(a, secrets),
        "round-trip", manifest.artifactCount() + " artifacts decode to their recorded raw SHA-256");
  }

  /** {@link #roundTrip(Secrets)} with the verified repository's own {@link Repository#secrets()}. */
  public static Verifier roundTrip() {
    return (repository, manifest) -> roundTrip(repository.secrets()).verify(repository, manifest);
  }

  @FunctionalInterface
  private interface Opener {
    InputStream open(ArtifactRecord artifact) throws IOException;
  }

  /**
   * Reads every artifact to its end through a verifying stream; the first integrity failure or missing object
   * is the failed result.
   */
  private static VerificationResult readEvery(Repository repository, Manifest manifest, Opener opener, String check,
      String passed) throws IOException {
    VerificationResult failed = everyArtifact(repository, manifest, check, a -> {
      try (InputStream in = opener.open(a)) {
        in.transferTo(OutputStream.nullOutputStream());
      }
    });
    return failed != null ? failed : VerificationResult.pass(check, passed);
  }

  /**
   * Checks the manifest's artifacts, then those of its object index (a bucket backup's objects); the first integrity
   * failure or missing object is the failed result, null when all passed.
   */
  private static @Nullable VerificationResult everyArtifact(Repository repository, Manifest manifest, String check,
      ObjectIndex.ArtifactAction artifactCheck) throws IOException {
    try {
      ObjectIndex.forEachArtifact(repository, manifest, artifactCheck);
      return null;
    } catch (IntegrityException | ObjectNotFoundException e) {
      return VerificationResult.fail(check, String.valueOf(e.getMessage()));
    }
  }

  /** {@link #standard(boolean, Secrets)} with the verified repository's own {@link Repository#secrets()}. */
  public static List<Verifier> standard(boolean full) {
    return full ? List.of(presence(0), storedDigest(), roundTrip()) : List.of(presence(0), storedDigest());
  }

  /** What {@code savepoint verify} runs: presence, then stored digests, then optionally the round trip. */
  public static List<Verifier> standard(boolean full, Secrets secrets) {
    return full ? List.of(presence(0), storedDigest(), roundTrip(secrets))
        : List.of(presence(0), storedDigest());
  }
}
