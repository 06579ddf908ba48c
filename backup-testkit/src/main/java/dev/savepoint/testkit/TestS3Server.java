package dev.savepoint.testkit;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.gaul.s3proxy.S3Proxy;
import org.gaul.s3proxy.auth.AuthenticationType;
import org.gaul.s3proxy.nio2blob.FilesystemNio2BlobStore;
import org.jspecify.annotations.Nullable;

/**
 * A real S3-compatible HTTP server on 127.0.0.1 (S3Proxy 4 over a temporary directory), started in-process
 * and shared by every test in the JVM. Clients need {@code forcePathStyle(true)}, the {@link #endpoint()},
 * region {@code us-east-1} and the {@link #accessKey()}/{@link #secretKey()} pair (AWS signature v4).
 *
 * <p>Known differences from AWS S3 (see shared/TEST-INFRA.md): multipart uploads lose their storage class,
 * and there is no archive tier (RestoreObject) — test those against a double named as such.
 */
public final class TestS3Server {
  private static @Nullable TestS3Server shared;
  private static final AtomicInteger buckets = new AtomicInteger();

  private final S3Proxy proxy;
  private final FilesystemNio2BlobStore blobStore;
  private final Path dir;

  private TestS3Server(S3Proxy proxy, FilesystemNio2BlobStore blobStore, Path dir) {
    this.proxy = proxy;
    this.blobStore = blobStore;
    this.dir = dir;
  }

  public static synchronized TestS3Server shared() {
    if (shared == null) {
      try {
        Path dir = Files.createTempDirectory("savepoint-s3-");
        FilesystemNio2BlobStore store = new FilesystemNio2BlobStore(dir.toString());
        S3Proxy proxy = S3Proxy.builder().blobStore(store).endpoint(URI.create("http://127.0.0.1:0"))
            .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, "savepoint-test-access", "savepoint-test-secret")
            .ignoreUnknownHeaders(true).build();
        proxy.start();
        long deadline = System.currentTimeMillis() + 30_000;
        while (!"STARTED".equals(proxy.getState()) && System.currentTimeMillis() < deadline) {
          Thread.sleep(10);
        }
        shared = new TestS3Server(proxy, store, dir);
        Runtime.getRuntime().addShutdownHook(new Thread(shared::stop));
      } catch (Exception e) {
        throw new IllegalStateException("cannot start the in-process S3 server: " + e, e);
      }
    }
    return shared;
  }

  private void stop() {
    try {
      proxy.stop();
    } catch (Exception e) {
      // Best effort at exit.
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      // Best effort.
    }
  }

  public URI endpoint() {
    return URI.create("http://127.0.0.1:" + proxy.getPort());
  }

  public String accessKey() {
    return "savepoint-test-access";
  }

  public String secretKey() {
    return "savepoint-test-secret";
  }

  public String region() {
    return "us-east-1";
  }

  /** Creates a new, empty bucket with a unique name built from {@code hint}. */
  public String createBucket(String hint) {
    String name = (hint.toLowerCase().replaceAll("[^a-z0-9-]", "-") + "-" + buckets.incrementAndGet() + "-"
        + Long.toHexString(System.nanoTime())).replaceAll("^-+", "");
    blobStore.createContainer(name);
    return name;
  }
}
