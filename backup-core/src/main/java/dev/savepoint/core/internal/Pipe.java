package dev.savepoint.core.internal;

import dev.savepoint.core.Source;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A bounded, thread-safe byte pipe between two stages running on different threads. At most
 * {@code capacity} chunks of {@code chunkSize} bytes are in flight, so memory stays flat however much flows.
 *
 * <p>Unlike {@link java.io.PipedInputStream}, a failure travels both ways and is never mistaken for a clean
 * end: {@link #abort} by the writer makes the reader throw (instead of seeing end-of-stream, which would
 * commit a truncated object); closing or failing the reader early makes the writer throw.
 */
public final class Pipe {
  private static final byte[] END = new byte[0];

  private final BlockingQueue<byte[]> queue;
  private final int chunkSize;
  private volatile Throwable writerFailure;
  private volatile Throwable readerFailure;
  private volatile boolean readerClosed;

  private final Sink sink;
  private final Source source;

  public Pipe(int chunkSize, int capacity) {
    if (chunkSize < 1 || capacity < 1) {
      throw new IllegalArgumentException("chunkSize and capacity must be positive");
    }
    this.chunkSize = chunkSize;
    this.queue = new ArrayBlockingQueue<>(capacity + 1);
    this.sink = new Sink();
    this.source = new Source();
  }

  /** A pipe holding up to 1 MiB: 16 chunks of 64 KiB. */
  public Pipe() {
    this(64 * 1024, 16);
  }

  public OutputStream sink() {
    return sink;
  }

  public InputStream source() {
    return source;
  }

  /** Called by the writer (or on its behalf): the reader throws {@code cause} instead of seeing the end. */
  public void abort(Throwable cause) {
    if (writerFailure == null) {
      writerFailure = cause;
    }
    queue.offer(END); // Wake a waiting reader; if full, the reader sees writerFailure on its next poll.
  }

  /** Called by the reader (or on its behalf): the writer's next write throws. */
  public void fail(Throwable cause) {
    if (readerFailure == null) {
      readerFailure = cause;
    }
    readerClosed = true;
    queue.clear(); // Unblock a writer waiting for space.
  }

  private final class Sink extends OutputStream {
    private byte[] buffer = new byte[chunkSize];
    private int count;
    private boolean closed;

    @Override
    public void write(int b) throws IOException {
      ensureOpen();
      if (count == buffer.length) {
        flushChunk();
      }
      buffer[count++] = (byte) b;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      ensureOpen();
      while (len > 0) {
        if (count == buffer.length) {
          flushChunk();
        }
        int n = Math.min(len, buffer.length - count);
        System.arraycopy(b, off, buffer, count, n);
        count += n;
        off += n;
        len -= n;
      }
    }

    private void ensureOpen() throws IOException {
      if (closed) {
        throw new IOException("pipe closed");
      }
      checkReader();
    }

    private void checkReader() throws IOException {
      if (readerClosed) {
        Throwable cause = readerFailure;
        throw cause == null ? new IOException("the reading stage stopped before the end of the data")
            : new IOException("the reading stage failed: " + cause.getMessage(), cause);
      }
    }

    private void flushChunk() throws IOException {
      if (count == 0) {
        return;
      }
      byte[] chunk = count == buffer.length ? buffer : java.util.Arrays.copyOf(buffer, count);
      enqueue(chunk);
      buffer = new byte[chunkSize];
      count = 0;
    }

    private void enqueue(byte[] chunk) throws IOException {
      try {
        while (!queue.offer(chunk, 100, TimeUnit.MILLISECONDS)) {
          checkReader();
        }
        checkReader();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("interrupted while writing to pipe");
      }
    }

    @Override
    public void close() throws IOException {
      if (closed) {
        return;
      }
      checkReader();
      flushChunk();
      closed = true;
      enqueue(END);
    }
  }

  private final class Source extends InputStream {
    private byte[] current;
    private int pos;
    private boolean ended;

    private boolean fill() throws IOException {
      while (current == null || pos == current.length) {
        if (ended) {
          return false;
        }
        if (readerClosed) {
          throw new IOException("pipe closed");
        }
        byte[] next;
        try {
          next = queue.poll(100, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new InterruptedIOException("interrupted while reading from pipe");
        }
        Throwable failure = writerFailure;
        if (failure != null) {
          throw failure instanceof IOException io ? new IOException(io.getMessage(), io)
              : new IOException("the writing stage failed: " + failure, failure);
        }
        if (next == END) {
          ended = true;
          return false;
        }
        if (next != null) {
          current = next;
          pos = 0;
        }
      }
      return true;
    }

    @Override
    public int read() throws IOException {
      return fill() ? current[pos++] & 0xff : -1;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      if (len == 0) {
        return 0;
      }
      if (!fill()) {
        return -1;
      }
      int n = Math.min(len, current.length - pos);
      System.arraycopy(current, pos, b, off, n);
      pos += n;
      return n;
    }

    /**
     * Hands {@code out} each chunk as the writer filled it, without copying it or cutting it into 8 KiB pieces
     * (as {@link InputStream#transferTo} would): a chunk is never written to again once queued.
     */
    @Override
    public long transferTo(OutputStream out) throws IOException {
      long transferred = 0;
      while (fill()) {
        int n = current.length - pos;
        out.write(current, pos, n);
        pos = current.length;
        transferred += n;
      }
      return transferred;
    }

    @Override
    public void close() {
      if (!ended) {
        fail(null);
      }
    }
  }
}
