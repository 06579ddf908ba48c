package dev.savepoint.core;

import dev.savepoint.core.internal.GzipTransform;
import dev.savepoint.core.internal.ZstdTransform;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.concurrent.ConcurrentHashMap;

/** Built-in transforms, and the rebuilding of any recorded chain from a manifest. */
public final class Transforms {
  private static final Map<String, TransformProvider> PROVIDERS = new ConcurrentHashMap<>();

  static {
    for (TransformProvider p : ServiceLoader.load(TransformProvider.class, Transforms.class.getClassLoader())) {
      PROVIDERS.put(p.name(), p);
    }
  }

  private Transforms() {}

  /** gzip (RFC 1952) at {@code level} 1..9; {@code gunzip} reads the artifact. */
  public static Transform gzip(int level) {
    return new GzipTransform(level);
  }

  public static Transform gzip() {
    return gzip(6);
  }

  /**
   * zstd frames at {@code level} 1..19 using {@code workers} extra compression threads (0: compress on the
   * calling thread); {@code zstd -d} reads the artifact.
   */
  public static Transform zstd(int level, int workers) {
    return new ZstdTransform(level, workers);
  }

  /** zstd at {@code level} using up to two worker threads. */
  public static Transform zstd(int level) {
    return zstd(level, Math.min(2, Runtime.getRuntime().availableProcessors()));
  }

  /** zstd level 3 using up to two worker threads. */
  public static Transform zstd() {
    return zstd(3);
  }

  /** Rebuilds one recorded transform. */
  public static Transform restore(TransformSpec spec, Secrets secrets) throws IOException {
    TransformProvider provider = PROVIDERS.get(spec.name());
    if (provider == null) {
      throw new UnsupportedFormatException("unknown transform '" + spec.name()
          + "' in manifest; add the module that provides it (e.g. backup-crypto) or upgrade Savepoint");
    }
    try {
      return provider.restore(spec, secrets);
    } catch (RuntimeException e) {
      // Parameters come from the manifest: whoever can write the repository chooses them.
      throw new UnsupportedFormatException("transform '" + spec.name() + "' in manifest has parameters it cannot use "
          + "(" + e.getMessage() + "); the manifest is damaged or from another program");
    }
  }

  /** Rebuilds a recorded chain, in backup order. */
  public static List<Transform> restore(List<TransformSpec> chain, Secrets secrets) throws IOException {
    List<Transform> result = new ArrayList<>(chain.size());
    for (TransformSpec spec : chain) {
      result.add(restore(spec, secrets));
    }
    return result;
  }

  /**
   * Refuses, with an {@link IntegrityException} naming the reason, an artifact whose recorded chain lacks a
   * transform that {@code secrets} demand (see {@link TransformProvider#demandingSecrets()}): the reader's keys,
   * not the manifest, say how the bytes must be protected.
   */
  public static void checkProtection(ArtifactRecord artifact, Secrets secrets) throws IntegrityException {
    for (TransformProvider provider : PROVIDERS.values()) {
      for (String secret : provider.demandingSecrets()) {
        if (secrets.get(secret).isPresent()
            && artifact.transforms().stream().noneMatch(t -> t.name().equals(provider.name()))) {
          throw new IntegrityException("artifact '" + artifact.name() + "' (" + artifact.key() + ") is stored "
              + (artifact.transforms().isEmpty() ? "as plain bytes" : "through " + artifact.transforms().stream()
                  .map(TransformSpec::name).toList()) + ", but the key supplied (" + secret + ") requires "
              + provider.name() + " encryption: refused before decoding it (a backup weaker than its plan is what "
              + "a writer of the repository without the key would plant)");
        }
      }
    }
  }

  /** Whether any recorded transform of {@code manifest} proves {@code secrets} wrong for it (see {@link TransformProvider#refutes}). */
  static boolean refuted(Manifest manifest, Secrets secrets) {
    for (ArtifactRecord a : manifest.artifacts()) {
      for (TransformSpec spec : a.transforms()) {
        TransformProvider provider = PROVIDERS.get(spec.name());
        if (provider != null && provider.refutes(spec, secrets)) {
          return true;
        }
      }
    }
    return false;
  }

  /**
   * The keys that reverse {@code chain}, as restore-time secrets (see {@link Transform#secrets()}): what a plan hands its
   * repository so that what it writes is signed with a key derived from them.
   */
  public static Secrets secretsOf(List<Transform> chain) {
    Secrets keys = Secrets.none();
    for (Transform t : chain) {
      keys = keys.orElse(t.secrets());
    }
    return keys;
  }

  /** The secret a repository derives its signing key from, if {@code secrets} hold one. */
  static java.util.Optional<char[]> signingSecret(Secrets secrets) {
    for (TransformProvider provider : PROVIDERS.values()) {
      java.util.Optional<char[]> value = provider.signingSecret().flatMap(secrets::get);
      if (value.isPresent()) {
        return value;
      }
    }
    return java.util.Optional.empty();
  }

  /** Registers a provider programmatically (ServiceLoader already finds those on the class path). */
  public static void register(TransformProvider provider) {
    PROVIDERS.put(provider.name(), provider);
  }
}
