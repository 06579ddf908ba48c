package dev.savepoint.examples;

import dev.savepoint.core.store.Store;
import dev.savepoint.s3.S3Store;
import dev.savepoint.testkit.TestS3Server;
import java.io.InputStream;
import java.util.Random;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * Upload throughput of {@link S3Store} to the in-process S3-compatible server with 1, 2 and 4 parts in
 * flight, for a stream of unknown length. Not a test: {@code bash scripts/benchmark.sh s3 [MiB]}. A local
 * server measures the client's pipelining and CPU cost, not a real network.
 */
public final class S3UploadBenchmark {
  public static void main(String[] args) throws Exception {
    long size = (args.length > 0 ? Long.parseLong(args[0]) : 512) << 20;
    TestS3Server server = TestS3Server.shared();
    S3Client client = S3Store.client(server.endpoint(), server.region(), server.accessKey(), server.secretKey());
    String bucket = server.createBucket("bench");
    System.out.printf("%-16s %10s %10s%n", "parts in flight", "seconds", "MiB/s");
    for (int inFlight : new int[] {1, 2, 4}) {
      Store store = S3Store.builder(client, bucket).partSize(8 << 20).partsInFlight(inFlight).build();
      long start = System.nanoTime();
      store.put("bench-" + inFlight, generated(size));
      double s = (System.nanoTime() - start) / 1e9;
      System.out.printf("%-16d %10.2f %10.1f%n", inFlight, s, size / 1048576.0 / s);
    }
    System.exit(0);
  }

  /** {@code size} bytes of pseudo-random data, generated as it is read (no buffer of the whole stream). */
  private static InputStream generated(long size) {
    return new InputStream() {
      private final Random random = new Random(1);
      private final byte[] block = new byte[1 << 16];
      private long remaining = size;
      private int pos = block.length;

      @Override
      public int read() {
        byte[] one = new byte[1];
        return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
      }

      @Override
      public int read(byte[] b, int off, int len) {
        if (remaining <= 0) {
          return -1;
        }
        if (pos == block.length) {
          random.nextBytes(block);
          pos = 0;
        }
        int n = (int) Math.min(Math.min(len, block.length - pos), remaining);
        System.arraycopy(block, pos, b, off, n);
        pos += n;
        remaining -= n;
        return n;
      }
    };
  }
}
