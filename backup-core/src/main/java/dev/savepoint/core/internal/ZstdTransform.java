package dev.savepoint.core.internal;

import com.github.luben.zstd.ZstdInputStream;
import com.github.luben.zstd.ZstdOutputStream;
import dev.savepoint.core.Secrets;
import dev.savepoint.core.Transform;
import dev.savepoint.core.TransformProvider;
import dev.savepoint.core.TransformSpec;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Map;

/** zstd via zstd-jni, optionally with worker threads (multi-threaded compression). */
public final class ZstdTransform implements Transform {
  static final String NAME = "zstd";
  private static final int BUFFER = 128 * 1024;

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
  public OutputStream wrap(OutputStream downstream) throws IOException {
    ZstdOutputStream zstd = new ZstdOutputStream(downstream, level);
    if (workers > 0) {
      zstd.setWorkers(workers);
    }
    zstd.setChecksum(true);
    return new BufferedOutputStream(zstd, BUFFER);
  }

  @Override
  public InputStream unwrap(InputStream stored) throws IOException {
    ZstdInputStream zstd = new ZstdInputStream(stored);
    zstd.setContinuous(false);
    return new BufferedInputStream(zstd, BUFFER);
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
