package dev.savepoint.core.internal;

import dev.savepoint.core.Secrets;
import dev.savepoint.core.Transform;
import dev.savepoint.core.TransformProvider;
import dev.savepoint.core.TransformSpec;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Map;

/** zstd via zstd-jni ({@link DirectZstd}), optionally with worker threads (multi-threaded compression). */
public final class ZstdTransform implements Transform {
  public static final String NAME = "zstd";

  private final int level;
  private final int workers;

  public ZstdTransform(int level, int workers) {
    if (level < 1 || level > 19) {
      throw new IllegalArgumentException("zstd level must be 1..19, got " + level);
    }
    if (workers < 0) {
      throw new IllegalArgumentException("zstd workers must be >= 0, got " + workers);
    }
    this.level = level;
    this.workers = workers;
  }

  @Override
  public TransformSpec spec() {
    // Workers change speed, not bytes a decoder needs to know about: record only the level.
    return new TransformSpec(NAME, Map.of("level", Integer.toString(level)));
  }

  @Override
  public OutputStream wrap(OutputStream downstream) {
    return DirectZstd.compressing(downstream, level, workers);
  }

  @Override
  public InputStream unwrap(InputStream stored) {
    return DirectZstd.decompressing(stored);
  }

  /** Rebuilds zstd transforms from manifests. */
  public static final class Provider implements TransformProvider {
    @Override
    public String name() {
      return NAME;
    }

    @Override
    public Transform restore(TransformSpec spec, Secrets secrets) {
      return new ZstdTransform(Integer.parseInt(spec.params().getOrDefault("level", "3")), 0);
    }
  }
}
