package dev.savepoint.s3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.savepoint.core.BackupPlan;
import dev.savepoint.core.ByteSource;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.Repository;
import dev.savepoint.core.Secrets;
import dev.savepoint.core.Store;
import dev.savepoint.core.StoreException;
import dev.savepoint.core.StreamSource;
import dev.savepoint.core.StreamTarget;
import dev.savepoint.core.Stores;
import dev.savepoint.core.TransientStoreException;
import dev.savepoint.testkit.StoreContract;
import dev.savepoint.testkit.TestS3Server;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
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

  /** Turns the response to some UploadPart attempts into 503 SlowDown, as a throttling S3 would. */
  static final class ThrottleParts implements ExecutionInterceptor {
    final AtomicInteger attempts = new AtomicInteger();
    final int failEvery;

    ThrottleParts(int failEvery) {
      this.failEvery = failEvery;
    }

    @Override
    public SdkHttpResponse modifyHttpResponse(Context.ModifyHttpResponse context, ExecutionAttributes attrs) {
      if (context.request() instanceof UploadPartRequest && attempts.incrementAndGet() % failEvery == 0) {
        return context.httpResponse().toBuilder().statusCode(503).statusText("Slow Down").build();
      }
      return context.httpResponse();
    }
  }

  S3Client throttled(ThrottleParts interceptor) {
    return S3Client.builder().endpointOverride(server.endpoint()).region(software.amazon.awssdk.regions.Region.US_EAST_1)
        .forcePathStyle(true)
        .credentialsProvider(software.amazon.awssdk.auth.credentials.StaticCredentialsProvider.create(
            software.amazon.awssdk.auth.credentials.AwsBasicCredentials.create(server.accessKey(), server.secretKey())))
        .overrideConfiguration(c -> c.addExecutionInterceptor(interceptor)).build();
  }

  @Test
  void throttledPartsAreRetriedAndTheObjectIsIntact() throws Exception {
    ThrottleParts every2nd = new ThrottleParts(2);
    Store s3 = S3Store.builder(throttled(every2nd), bucket).partSize(5 * MIB).build();
    byte[] data = randomBytes((int) (21 * MIB), 12);
    Repository repo = new Repository(Stores.standard(s3));
    Manifest m = BackupPlan.builder("db").source(StreamSource.of("dump", ByteSource.wrap(data))).repository(repo)
        .build().run().manifest();
    assertThat(every2nd.attempts.get()).isGreaterThan(5);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    repo.restore(m, StreamTarget.stream(out), Secrets.none());
    assertThat(out.toByteArray()).isEqualTo(data);
  }

  @Test
  void partsFailingOnEveryAttemptAbortTheUploadLeavingNothing() throws Exception {
    Store s3 = S3Store.builder(throttled(new ThrottleParts(1)), bucket).partSize(5 * MIB).build();
    Repository repo = new Repository(s3);
    assertThatThrownBy(() -> BackupPlan.builder("db")
        .source(StreamSource.of("dump", ByteSource.wrap(randomBytes((int) (12 * MIB), 13)))).repository(repo).build().run())
        .isInstanceOf(TransientStoreException.class).hasMessageContaining("503");
    assertThat(repo.list("db")).isEmpty();
    assertThat(s3.list("")).isEmpty();
    assertThat(client.listMultipartUploads(r -> r.bucket(bucket)).uploads()).isEmpty();
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
}
