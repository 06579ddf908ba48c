package dev.savepoint.core.internal;

import com.github.luben.zstd.EndDirective;
import com.github.luben.zstd.ZstdCompressCtx;
import com.github.luben.zstd.ZstdDecompressCtx;
import com.github.luben.zstd.ZstdException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;

/**
 * zstd streams whose native code touches only direct buffers.
 *
 * <p>zstd-jni's {@code ZstdOutputStream} and {@code ZstdInputStream} hand {@code byte[]} to native code inside JNI
 * critical sections. On Java 17's G1 a thread in a critical section holds off garbage collection, and another thread's
 * allocation then fails with {@code OutOfMemoryError} ("Retried waiting for GCLocker too often") although the heap is
 * mostly garbage: a bucket backup of 20,000 small objects with 8 workers failed that way in a 128 MiB heap. Direct
 * buffers need no pinning, so these streams never block the collector. The frames are ordinary zstd frames with a
 * content checksum, readable by the {@code zstd} tool and by zstd-jni's own streams.
 */
final class DirectZstd {
  private static final int BUFFER = 128 * 1024;
  /** Direct buffers are freed only when collected: reuse them instead of allocating two per artifact. */
  private static final BlockingQueue<ByteBuffer> POOL = new ArrayBlockingQueue<>(64);
  /** Idle contexts kept per kind (about 1–3 MB of native memory each at the usual levels). */
  private static final int IDLE_CONTEXTS = 8;

  private DirectZstd() {}

  /**
   * Contexts kept for the next artifact, by level (single-threaded ones only): creating a context per artifact and
   * zeroing its tables cost as much as compressing an object of a bucket backup (16 KB on average). A context goes
   * back only after a frame ended cleanly; one that saw an error is freed.
   */
  private static final Map<Integer, BlockingQueue<ZstdCompressCtx>> COMPRESSORS = new ConcurrentHashMap<>();
  private static final BlockingQueue<ZstdDecompressCtx> DECOMPRESSORS = new ArrayBlockingQueue<>(IDLE_CONTEXTS);

  static OutputStream compressing(OutputStream downstream, int level, int workers) {
    BlockingQueue<ZstdCompressCtx> idle = workers > 0 ? null
        : COMPRESSORS.computeIfAbsent(level, l -> new ArrayBlockingQueue<>(IDLE_CONTEXTS));
    ZstdCompressCtx ctx = idle == null ? null : idle.poll();
    if (ctx == null) {
      ctx = new ZstdCompressCtx();
      try {
        ctx.setLevel(level);
        ctx.setChecksum(true);
        if (workers > 0) {
          ctx.setWorkers(workers);
        }
      } catch (RuntimeException e) {
        ctx.close();
        throw e;
      }
    }
    return new Compressing(downstream, ctx, idle);
  }

  static InputStream decompressing(InputStream stored) {
    ZstdDecompressCtx ctx = DECOMPRESSORS.poll();
    return new Decompressing(stored, ctx != null ? ctx : new ZstdDecompressCtx());
  }

  /** Returns a context whose frames all ended to {@code idle}, or frees it. */
  private static <C extends AutoCloseable> void recycle(C ctx, boolean clean, BlockingQueue<C> idle) {
    if (!clean || idle == null || !idle.offer(ctx)) {
      try {
        ctx.close();
      } catch (Exception e) {
        throw new IllegalStateException(e); // zstd-jni's close throws nothing
      }
    }
  }

  private static ByteBuffer take() {
    ByteBuffer b = POOL.poll();
    return b != null ? b.clear() : ByteBuffer.allocateDirect(BUFFER);
  }

  private static void give(ByteBuffer b) {
    POOL.offer(b);
  }

  private static IOException failure(String what, ZstdException e) {
    return new IOException(what + ": " + e.getMessage(), e);
  }

  private static final class Compressing extends OutputStream {
    private final OutputStream downstream;
    private final ZstdCompressCtx ctx;
    private final BlockingQueue<ZstdCompressCtx> idle;
    private final ByteBuffer input = take();
    private final ByteBuffer output = take();
    /** Grown to what zstd hands out at once (at most {@link #BUFFER}): a small artifact needs a small one. */
    private byte[] transfer = new byte[0];
    private boolean closed;
    private boolean failed;

    Compressing(OutputStream downstream, ZstdCompressCtx ctx, BlockingQueue<ZstdCompressCtx> idle) {
      this.downstream = downstream;
      this.ctx = ctx;
      this.idle = idle;
    }

    @Override
    public void write(int b) throws IOException {
      ensureOpen();
      input.put((byte) b);
      if (!input.hasRemaining()) {
        compress(EndDirective.CONTINUE);
      }
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      Objects.checkFromIndexSize(off, len, b.length);
      ensureOpen();
      while (len > 0) {
        int n = Math.min(len, input.remaining());
        input.put(b, off, n);
        off += n;
        len -= n;
        if (!input.hasRemaining()) {
          compress(EndDirective.CONTINUE);
        }
      }
    }

    @Override
    public void flush() throws IOException {
      ensureOpen();
      compress(EndDirective.FLUSH);
      downstream.flush();
    }

    @Override
    public void close() throws IOException {
      if (closed) {
        return;
      }
      closed = true;
      try (downstream) {
        compress(EndDirective.END);
      } finally {
        recycle(ctx, !failed, idle);
        give(input);
        give(output);
      }
    }

    /** Compresses all buffered input; unless continuing, until zstd holds nothing back. */
    private void compress(EndDirective directive) throws IOException {
      input.flip();
      failed = true; // until this step completes: a context left mid-frame is never reused
      try {
        boolean flushed;
        do {
          flushed = ctx.compressDirectByteBufferStream(output, input, directive);
          output.flip();
          int n = output.remaining();
          if (transfer.length < n) {
            transfer = new byte[Math.min(BUFFER, Math.max(n, 2 * transfer.length))];
          }
          output.get(transfer, 0, n);
          output.clear();
          downstream.write(transfer, 0, n);
        } while (input.hasRemaining() || (directive != EndDirective.CONTINUE && !flushed));
        failed = false;
      } catch (ZstdException e) {
        throw failure("zstd compression failed", e);
      } finally {
        input.clear();
      }
    }

    private void ensureOpen() throws IOException {
      if (closed) {
        throw new IOException("zstd stream closed");
      }
    }
  }

  private static final class Decompressing extends InputStream {
    private final InputStream stored;
    private final ZstdDecompressCtx ctx;
    private final ByteBuffer input = take().flip();
    private final ByteBuffer output = take().flip();
    private final byte[] transfer = new byte[BUFFER];
    private final byte[] one = new byte[1];
    /** A frame has begun and has not ended; the stream may end only between frames, and only after one. */
    private boolean inFrame;
    private boolean sawFrame;
    private boolean closed;

    /** The last frame ended and nothing failed: the context can decode another artifact. */
    private boolean clean;

    Decompressing(InputStream stored, ZstdDecompressCtx ctx) {
      this.stored = stored;
      this.ctx = ctx;
    }

    @Override
    public int read() throws IOException {
      return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      Objects.checkFromIndexSize(off, len, b.length);
      if (closed) {
        throw new IOException("zstd stream closed");
      }
      if (len == 0) {
        return 0;
      }
      if (!output.hasRemaining() && !decode()) {
        return -1;
      }
      int n = Math.min(len, output.remaining());
      output.get(b, off, n);
      return n;
    }

    /** Refills {@code output}; false at the clean end of the stream. */
    private boolean decode() throws IOException {
      output.clear();
      try {
        while (true) {
          int before = input.position();
          boolean frameDone = ctx.decompressDirectByteBufferStream(output, input);
          if (input.position() > before || output.position() > 0) {
            inFrame = !frameDone;
            sawFrame = true;
          }
          if (output.position() > 0) {
            return true;
          }
          if (!input.hasRemaining() && !readStored()) {
            if (inFrame || !sawFrame) {
              throw new IOException("truncated zstd stream: it ends inside a frame");
            }
            clean = true;
            return false;
          }
        }
      } catch (ZstdException e) {
        throw failure("corrupt zstd stream", e);
      } finally {
        output.flip();
      }
    }

    private boolean readStored() throws IOException {
      int n = stored.read(transfer, 0, transfer.length);
      if (n < 0) {
        return false;
      }
      input.clear();
      input.put(transfer, 0, n);
      input.flip();
      return true;
    }

    @Override
    public void close() throws IOException {
      if (closed) {
        return;
      }
      closed = true;
      try (stored) {
        recycle(ctx, clean, DECOMPRESSORS);
      } finally {
        give(input);
        give(output);
      }
    }
  }
}
