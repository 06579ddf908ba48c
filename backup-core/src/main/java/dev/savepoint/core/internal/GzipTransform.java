package dev.savepoint.core.internal;

import dev.savepoint.core.Secrets;
import dev.savepoint.core.Transform;
import dev.savepoint.core.TransformProvider;
import dev.savepoint.core.TransformSpec;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Map;
import java.util.zip.Deflater;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

/** gzip via java.util.zip; reading accepts concatenated members, as gunzip does. */
public final class GzipTransform implements Transform {
  public static final String NAME = "gzip";
  private static final int BUFFER = 64 * 1024;

  private final int level;

  public GzipTransform(int level) {
    if (level < Deflater.BEST_SPEED || level > Deflater.BEST_COMPRESSION) {
      throw new IllegalArgumentException("gzip level must be 1..9, got " + level);
    }
    this.level = level;
  }

  @Override
  public TransformSpec spec() {
    return new TransformSpec(NAME, Map.of("level", Integer.toString(level)));
  }

  @Override
  public OutputStream wrap(OutputStream downstream) throws IOException {
    return new GZIPOutputStream(downstream, BUFFER) {
      {
        def.setLevel(level);
      }
    };
  }

  @Override
  public InputStream unwrap(InputStream stored) throws IOException {
    return new GZIPInputStream(stored, BUFFER);
  }

  /** Rebuilds gzip transforms from manifests. */
  public static final class Provider implements TransformProvider {
    @Override
    public String name() {
      return NAME;
    }

    @Override
    public Transform restore(TransformSpec spec, Secrets secrets) {
      return new GzipTransform(Integer.parseInt(spec.params().getOrDefault("level", "6")));
    }
  }
}
