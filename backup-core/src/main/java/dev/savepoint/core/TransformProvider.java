package dev.savepoint.core;

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
}
