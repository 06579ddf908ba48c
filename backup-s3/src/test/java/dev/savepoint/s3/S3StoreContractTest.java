package dev.savepoint.s3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.savepoint.core.BackupPlan;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.Repository;
import dev.savepoint.core.Secrets;
import dev.savepoint.core.StoreException;
import dev.savepoint.core.TransientStoreException;
import dev.savepoint.core.sources.BucketSource;
import dev.savepoint.core.sources.StreamSource;
import dev.savepoint.core.sources.StreamTarget;
import dev.savepoint.core.store.ByteSource;
import dev.savepoint.core.store.InMemoryStore;
import dev.savepoint.core.store.Store;
import dev.savepoint.core.store.Stores;
import dev.savepoint.testkit.ResettingTcpProxy;
import dev.savepoint.testkit.StoreContract;
import dev.savepoint.testkit.TestS3Server;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.http.SdkHttpResponse;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.UploadPartRequest;

/** The store contract, and S3-specific behaviour, against a real S3-compatible server over HTTP. */
class S3StoreContractTest extends StoreContract {
  static final TestS3Server server = TestS3Server.shared();
  static final long MIB = 1024 * 1024;

  S3Client client;
  String bucket;

  @Override
  protected Store newStore() {
    client = S3Store.client(server.endpoint(), server.region(), server.accessKey(), server.secretKey());
    bucket = server.createBucket("contract");
    return S3Store.builder(client, bucket).prefix("repo").partSize(5 * MIB).partsInFlight(3).build();
  }

  /** S3Proxy's filesystem backend lists by UTF-16 unit (AWS S3 by UTF-8 byte); S3Store keeps the server's order. */
  @Override
  protected java.util.Comparator<String> listingOrder() {
    return String::compareTo;
  }

  @Test
  void multipartUploadOfUnknownLengthRoundTrips() throws Exception {
    byte[] data = randomBytes((int) (17 * MIB + 123), 11);
    store.put("big/object", new ByteArrayInputStream(data));
    assertThat(read("big/object")).isEqualTo(data);
    assertThat(store.stat("big/object")).get().extracting(o -> o.size()).isEqualTo((long) data.length);
    try (InputStream in = store.get("big/object", 6 * MIB, 100)) {
      assertThat(in.readAllBytes()).isEqualTo(java.util.Arrays.copyOfRange(data, (int) (6 * MIB), (int) (6 * MIB) + 100));
    }
  }

  @Test
  void partSizeGrowsSoFiveTerabytesFitInTenThousandParts() {
    S3Store s3 = (S3Store) store;
    long total = 0;
    for (int n = 1; n <= 10_000; n++) {
      total += s3.partSize(n);
    }
    assertThat(total).isGreaterThanOrEqualTo(5L << 40);
    assertThat(s3.partSize(10_000)).isLessThanOrEqualTo(S3Store.MAX_PART);
  }

  /**
   * Turns the response to some UploadPart attempts into an error status: 503 SlowDown as a throttling S3
   * answers, 500 InternalError as S3 answers now and then.
   */
  static final class FailParts implements ExecutionInterceptor {
    final AtomicInteger attempts = new AtomicInteger();
    final int status;
    final int failEvery;

    FailParts(int status, int failEvery) {
      this.status = status;
      this.failEvery = failEvery;
    }

    @Override
    public SdkHttpResponse modifyHttpResponse(Context.ModifyHttpResponse context, ExecutionAttributes attrs) {
      if (context.request() instanceof UploadPartRequest && attempts.incrementAndGet() % failEvery == 0) {
        return context.httpResponse().toBuilder().statusCode(status).statusText("injected").build();
      }
      return context.httpResponse();
    }
  }

  S3Client client(java.net.URI endpoint, ExecutionInterceptor... interceptors) {
    return S3Client.builder().endpointOverride(endpoint).region(software.amazon.awssdk.regions.Region.US_EAST_1)
        .forcePathStyle(true)
        .credentialsProvider(software.amazon.awssdk.auth.credentials.StaticCredentialsProvider.create(
            software.amazon.awssdk.auth.credentials.AwsBasicCredentials.create(server.accessKey(), server.secretKey())))
        .overrideConfiguration(c -> List.of(interceptors).forEach(c::addExecutionInterceptor)).build();
  }

  /** Backs {@code data} up through {@code s3} and reads it back: it must be the same bytes. */
  static void assertRoundTrip(Store s3, byte[] data) throws Exception {
    Repository repo = new Repository(Stores.standard(s3));
    Manifest m = BackupPlan.builder("db").source(StreamSource.of("dump", ByteSource.wrap(data))).repository(repo)
        .build().run().manifest();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    repo.restore(m, StreamTarget.stream(out), Secrets.none());
    assertThat(out.toByteArray()).isEqualTo(data);
  }

  @ParameterizedTest(name = "HTTP {0}")
  @ValueSource(ints = {500, 503})
  void partsAnsweredWithServerErrorsAreRetriedAndTheObjectIsIntact(int status) throws Exception {
    FailParts every2nd = new FailParts(status, 2);
    assertRoundTrip(S3Store.builder(client(server.endpoint(), every2nd), bucket).partSize(5 * MIB).build(),
        randomBytes((int) (21 * MIB), 12));
    assertThat(every2nd.attempts.get()).isGreaterThan(5);
  }

  @Test
  void connectionsResetMidPartAreRetriedAndTheObjectIsIntact() throws Exception {
    // The first and third connections die after 1 MiB of request bytes, i.e. inside a 5 MiB part.
    try (ResettingTcpProxy proxy = ResettingTcpProxy.start(server.endpoint(), n -> n == 1 || n == 3, MIB)) {
      assertRoundTrip(S3Store.builder(client(proxy.endpoint()), bucket).partSize(5 * MIB).partsInFlight(2).build(),
          randomBytes((int) (21 * MIB), 14));
      assertThat(proxy.resets()).isGreaterThanOrEqualTo(1);
    }
  }

  @Test
  void pruningABucketBackupDeletesItsObjectsAThousandARequest() throws Exception {
    java.util.concurrent.atomic.AtomicInteger batches = new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.atomic.AtomicInteger singles = new java.util.concurrent.atomic.AtomicInteger();
    ExecutionInterceptor counting = new ExecutionInterceptor() {
      @Override
      public void beforeExecution(Context.BeforeExecution context, ExecutionAttributes attrs) {
        if (context.request() instanceof software.amazon.awssdk.services.s3.model.DeleteObjectsRequest) {
          batches.incrementAndGet();
        } else if (context.request() instanceof software.amazon.awssdk.services.s3.model.DeleteObjectRequest) {
          singles.incrementAndGet();
        }
      }
    };
    Repository repo = new Repository(Stores.standard(S3Store.builder(client(server.endpoint(), counting), bucket)
        .build()));
    InMemoryStore uploads = new InMemoryStore();
    for (int i = 0; i < 1500; i++) {
      uploads.put(String.format("maps/%04d.png", i), ByteSource.wrap(new byte[] {(byte) i, (byte) (i >> 8)}));
    }
    Manifest m = BackupPlan.builder("uploads").source(BucketSource.of(uploads).parallelism(8)).repository(repo)
        .build().run().manifest();
    repo.delete(m); // what prune does with a backup it does not keep
    assertThat(repo.list("uploads")).isEmpty();
    assertThat(repo.store().list("uploads/")).isEmpty();
    assertThat(batches.get()).as("DeleteObjects requests").isBetween(1, 3);
    assertThat(singles.get()).as("single deletes: the completion marker, the manifest and its signature at most")
        .isLessThanOrEqualTo(3);
  }

  @Test
  void downloadsResetMidObjectResumeFromWhereTheyBrokeAndRestoreTheSameBytes() throws Exception {
    byte[] data = randomBytes((int) (21 * MIB), 16);
    Repository writer = new Repository(Stores.standard(S3Store.builder(client(server.endpoint()), bucket).build()));
    Manifest m = BackupPlan.builder("db").source(StreamSource.of("dump", ByteSource.wrap(data))).repository(writer)
        .build().run().manifest();
    List<String> ranges = new java.util.concurrent.CopyOnWriteArrayList<>();
    ExecutionInterceptor recordRanges = new ExecutionInterceptor() {
      @Override
      public void beforeExecution(Context.BeforeExecution context, ExecutionAttributes attrs) {
        if (context.request() instanceof software.amazon.awssdk.services.s3.model.GetObjectRequest g) {
          ranges.add(String.valueOf(g.range()));
        }
      }
    };
    // The first and second download connections die after 3 MiB of the answer.
    try (ResettingTcpProxy proxy = ResettingTcpProxy.resettingResponses(server.endpoint(), n -> n <= 2, 3 * MIB)) {
      Repository reader = new Repository(Stores.standard(S3Store.builder(client(proxy.endpoint(), recordRanges), bucket)
          .build()));
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      reader.restore(m, StreamTarget.stream(out), Secrets.none());
      assertThat(out.toByteArray()).isEqualTo(data);
      assertThat(proxy.resets()).isGreaterThanOrEqualTo(1);
    }
    assertThat(ranges).as("resumed with ranged gets, not from byte 0").anyMatch(r -> r.matches("bytes=[1-9]\\d*-.*"));
  }

  @ParameterizedTest(name = "HTTP {0}")
  @ValueSource(ints = {500, 503})
  void partsFailingOnEveryAttemptAbortTheUploadLeavingNothing(int status) throws Exception {
    Store s3 = S3Store.builder(client(server.endpoint(), new FailParts(status, 1)), bucket).partSize(5 * MIB).build();
    Repository repo = new Repository(s3);
    assertThatThrownBy(() -> BackupPlan.builder("db")
        .source(StreamSource.of("dump", ByteSource.wrap(randomBytes((int) (12 * MIB), 13)))).repository(repo).build().run())
        .isInstanceOf(TransientStoreException.class).hasMessageContaining(Integer.toString(status));
    assertThat(repo.list("db")).isEmpty();
    assertThat(s3.list("")).isEmpty();
    assertThat(client.listMultipartUploads(r -> r.bucket(bucket)).uploads()).isEmpty();
  }

  @Test
  void copyToAnotherBucketOfTheSameServiceIsACopyObject() throws Exception {
    String archiveBucket = server.createBucket("archive");
    AtomicInteger uploads = new AtomicInteger();
    S3Client counting = client(server.endpoint(), new ExecutionInterceptor() {
      @Override
      public void beforeExecution(Context.BeforeExecution context, ExecutionAttributes attrs) {
        if (context.request() instanceof software.amazon.awssdk.services.s3.model.PutObjectRequest
            || context.request() instanceof UploadPartRequest) {
          uploads.incrementAndGet();
        }
      }
    });
    Repository archive = new Repository(Stores.standard(S3Store.builder(counting, archiveBucket)
        .storageClass(software.amazon.awssdk.services.s3.model.StorageClass.STANDARD_IA).build()));
    byte[] dump = randomBytes((int) (7 * MIB), 15);
    Manifest m = BackupPlan.builder("db").source(StreamSource.of("dump", ByteSource.wrap(dump)))
        .repository(new Repository(Stores.standard(store))).copyTo(archive).build().run().manifest();
    assertThat(uploads.get()).as("only the manifest and its completion marker are uploaded; the 7 MiB artifact is "
        + "copied by S3").isEqualTo(2);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    archive.restore(archive.manifest("db", m.id()), StreamTarget.stream(out), Secrets.none());
    assertThat(out.toByteArray()).isEqualTo(dump);
  }

  @Test
  void anInServiceCopyOfAChangedObjectIsRefused() throws Exception {
    Repository primary = new Repository(Stores.standard(store));
    Repository archive = new Repository(Stores.standard(S3Store.builder(client, server.createBucket("archive2")).build()));
    byte[] dump = randomBytes((int) MIB, 16);
    Manifest m = BackupPlan.builder("db").source(StreamSource.of("dump", ByteSource.wrap(dump))).repository(primary)
        .build().run().manifest();
    // Someone with write access to the primary replaces the artifact after the backup (same size).
    String key = m.artifacts().get(0).key();
    byte[] changed = dump.clone();
    changed[1000] ^= 1;
    store.put(key, ByteSource.wrap(changed));
    assertThatThrownBy(() -> primary.copyTo(m, archive)).isInstanceOf(dev.savepoint.core.IntegrityException.class)
        .hasMessageContaining("in-service copy of " + key).hasMessageContaining("changed after the backup");
    assertThat(archive.list("db")).isEmpty();
    assertThat(archive.store().stat(key)).as("the bad copy is deleted").isEmpty();
  }

  @Test
  void staleMultipartUploadsAreAbortedByCleanup() throws Exception {
    // A process killed mid-upload leaves an incomplete multipart upload behind.
    String uploadId = client.createMultipartUpload(r -> r.bucket(bucket).key("repo/p/id/dump")).uploadId();
    assertThat(client.listMultipartUploads(r -> r.bucket(bucket)).uploads()).hasSize(1);
    assertThat(store.cleanupIncomplete(java.time.Duration.ofHours(1))).isZero(); // too young
    assertThat(Stores.standard(store).cleanupIncomplete(java.time.Duration.ZERO)).isEqualTo(1);
    assertThat(client.listMultipartUploads(r -> r.bucket(bucket)).uploads()).isEmpty();
    assertThat(uploadId).isNotBlank();
  }

  @Test
  void missingBucketIsAClearError() {
    Store missing = S3Store.builder(client, "no-such-bucket-" + System.nanoTime()).build();
    assertThatThrownBy(() -> missing.put("k", ByteSource.wrap(new byte[] {1})))
        .isInstanceOf(StoreException.class).hasMessageContaining("does not exist");
    assertThatThrownBy(() -> missing.list("")).isInstanceOf(StoreException.class).hasMessageContaining("does not exist");
  }

  @Test
  void credentialsNeverAppearInErrorsOrDescriptions() {
    String canary = "canary-secret-" + System.nanoTime();
    S3Client wrong = S3Store.client(server.endpoint(), server.region(), "wrong-access", canary);
    Store s3 = S3Store.builder(wrong, bucket).build();
    assertThat(s3.describe()).doesNotContain(canary);
    assertThatThrownBy(() -> s3.put("k", ByteSource.wrap(new byte[] {1})))
        .isInstanceOf(StoreException.class)
        .satisfies(e -> {
          java.io.StringWriter w = new java.io.StringWriter();
          e.printStackTrace(new java.io.PrintWriter(w));
          assertThat(w.toString()).doesNotContain(canary);
        });
  }

  /** What the local S3 server cannot hold (real S3 can): see {@link S3UnusualKeysTest#BEYOND_THE_LOCAL_SERVER}. */
  @Override
  protected java.util.List<String> oddKeys() {
    return ODD_KEYS.stream().filter(k -> !k.contains("..") && !k.contains("./") && !k.startsWith("/") && !k.contains("//")
        && !k.contains("\u0001") && k.length() < 255 && !k.equals("x/y") && !k.endsWith("/")).toList();
  }
}
