package dev.savepoint.core;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Map;
import java.util.TreeMap;

/**
 * A reversible stream stage (compression, encryption). {@link #wrap} is used when backing up and
 * {@link #unwrap} when restoring; {@code unwrap(wrap(x)) == x}. {@link #spec()} records everything needed
 * to rebuild the inverse from the manifest (see {@link TransformProvider}).
 *
 * <p>Closing the stream returned by {@code wrap} finishes the encoding and closes {@code downstream}.
 * Closing the stream returned by {@code unwrap} closes {@code stored}. Data errors while unwrapping are
 * thrown as {@link IOException}s and reported by the pipeline as {@link IntegrityException}s.
 */
public interface Transform {
  TransformSpec spec();

  OutputStream wrap(OutputStream downstream) throws IOException;

  InputStream unwrap(InputStream stored) throws IOException;

  /**
   * The transform to use for one backup. Transforms with per-backup state (a fresh data key from a KMS)
   * return a new instance; the default returns this one. Called once at the start of every backup.
   */
  default Transform perBackup() throws IOException {
    return this;
  }

  /**
   * Whether an object stored earlier through {@code earlier} is protected as this transform would protect it
   * now — the same stage with the same keys and settings — so that an incremental backup may reuse it instead of
   * storing it again (after a key rotation it must not). The default compares the specs' names and parameters
   * except {@code wrappedKey} (a per-backup data key).
   */
  default boolean sameKeysAs(TransformSpec earlier) {
    Map<String, String> now = new TreeMap<>(spec().params());
    Map<String, String> then = new TreeMap<>(earlier.params());
    now.remove("wrappedKey");
    then.remove("wrappedKey");
    return spec().name().equals(earlier.name()) && now.equals(then);
  }

  /**
   * The key material that reverses this transform, as restore-time {@link Secrets} (OpenPGP: its passphrase; none
   * by default). A plan gives it to its repository, which derives from it the key that signs the plan's manifests
   * (see {@link TransformProvider#signingSecret()}).
   */
  default Secrets secrets() {
    return Secrets.none();
  }
}
