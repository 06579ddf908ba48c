package dev.savepoint.core;

import dev.savepoint.core.security.ManifestSigner;
import java.io.IOException;

/**
 * Rebuilds a {@link Transform} from its recorded {@link TransformSpec}. Providers are found with
 * {@link java.util.ServiceLoader}, so a module (e.g. backup-crypto) adds its transforms by listing a provider
 * in {@code META-INF/services/dev.savepoint.core.TransformProvider}.
 */
public interface TransformProvider {
  /** The {@link TransformSpec#name()} this provider handles. */
  String name();

  /** The transform described by {@code spec}, using {@code secrets} for any keys it needs. */
  Transform restore(TransformSpec spec, Secrets secrets) throws IOException;

  /**
   * Names of the secrets whose presence demands this transform of every artifact read with them: a reader who
   * supplies an OpenPGP passphrase refuses an artifact that is not OpenPGP-encrypted, before decoding a byte of it
   * (a writer of the repository without the key cannot downgrade a backup to plain bytes). None by default.
   */
  default java.util.Set<String> demandingSecrets() {
    return java.util.Set.of();
  }

  /**
   * Whether {@code spec} proves {@code secrets} wrong for it: a recorded check value of a passphrase that the
   * supplied one does not match. Lets a failed signature under a derived key be reported as the wrong key it
   * usually is. False by default.
   */
  default boolean refutes(TransformSpec spec, Secrets secrets) {
    return false;
  }

  /**
   * The name of a secret from which a repository derives its signing key when it has no {@link ManifestSigner} of
   * its own (OpenPGP: the passphrase), so that an encrypted plan is authenticated with no extra setting. A secret
   * that only the repository's legitimate writers and readers hold qualifies; a public key does not.
   */
  default java.util.Optional<String> signingSecret() {
    return java.util.Optional.empty();
  }
}
