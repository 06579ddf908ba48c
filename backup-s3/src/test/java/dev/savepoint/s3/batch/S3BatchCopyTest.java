package dev.savepoint.s3.batch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.savepoint.core.BackupPlan;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.ObjectIndex;
import dev.savepoint.core.Repository;
import dev.savepoint.core.Secrets;
import dev.savepoint.core.Transforms;
import dev.savepoint.core.VerificationResult;
import dev.savepoint.core.Verifiers;
import dev.savepoint.core.sources.BucketSource;
import dev.savepoint.core.sources.FilesTarget;
import dev.savepoint.core.store.ObjectInfo;
import dev.savepoint.s3.S3Store;
import dev.savepoint.testkit.TestS3Server;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.ChecksumMode;
import software.amazon.awssdk.services.s3.model.ChecksumType;
import software.amazon.awssdk.services.s3.model.HeadObjectRequest;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3control.model.CreateJobRequest;
import software.amazon.awssdk.services.s3control.model.JobReportScope;
import software.amazon.awssdk.services.s3control.model.S3ChecksumAlgorithm;

/**
 * S3 copies, Savepoint keeps the index, verification and retention: a Batch Operations job (a client double over
 * the real S3-compatible server: {@link BatchOperationsDouble}) copies what changed, the backup adopts the copies it
 * can prove and copies the rest itself, and everything after — restore, verify, the next backups, cleanup — treats
 * the copies as the backup's own objects.
 */
class S3BatchCopyTest {
  static final TestS3Server server = TestS3Server.shared();
  static final String ROLE = "arn:aws:iam::123456789012:role/savepoint-batch-copy";

  @TempDir
  Path tmp;

  S3Client client = S3Store.client(server.endpoint(), server.region(), server.accessKey(), server.secretKey());
  String app = server.createBucket("app");
  String vault = server.createBucket("vault");
  S3Store uploads = S3Store.builder(client, app).prefix("uploads/").build();
  S3Store repoStore = S3Store.builder(client, vault).prefix("repo/").build();
  Repository repo = new Repository(repoStore);
  BatchOperationsDouble batchOperations = new BatchOperationsDouble(client);
  S3BatchCopy batch = S3BatchCopy.builder(batchOperations, "123456789012", ROLE).pollInterval(Duration.ZERO).build();
  Map<String, byte[]> current = new LinkedHashMap<>();

  void put(String key, byte[] content) {
    client.putObject(r -> r.bucket(app).key("uploads/" + key), RequestBody.fromBytes(content));
    current.put(key, content);
  }

  BackupPlan plan(BucketSource source) {
    return BackupPlan.builder("uploads").source(source).repository(repo).build();
  }

  @Test
  void theProviderCopiesTheBackupAdoptsWhatItCanProveAndCopiesTheRest() throws Exception {
    Random random = new Random(7);
    for (int i = 0; i < 30; i++) {
      byte[] content = new byte[random.nextInt(100_000)];
      random.nextBytes(content);
      put(i == 3 ? "avatars/勇者 #3+.png" : String.format("maps/k%02d.bin", i), content);
    }
    Thread.sleep(1100); // S3 times have a second's resolution: the copies are made in a later second

    BucketSource source = BucketSource.of(uploads);
    batchOperations.failing.add("uploads/maps/k05.bin");
    S3BatchCopy.Job job = batch.start("uploads", source, repo);
    assertThat(job.objects()).isEqualTo(30);
    CreateJobRequest request = batchOperations.created.get(0);
    assertThat(request.clientRequestToken()).isEqualTo(job.batchId());
    assertThat(request.roleArn()).isEqualTo(ROLE);
    assertThat(request.confirmationRequired()).isFalse();
    assertThat(request.operation().s3PutObjectCopy().checksumAlgorithm()).isEqualTo(S3ChecksumAlgorithm.SHA256);
    assertThat(request.operation().s3PutObjectCopy().targetResource()).isEqualTo("arn:aws:s3:::" + vault);
    assertThat(request.operation().s3PutObjectCopy().targetKeyPrefix())
        .isEqualTo("repo/uploads/" + job.batchId() + "/objects");
    assertThat(request.report().reportScope()).isEqualTo(JobReportScope.FAILED_TASKS_ONLY);
    String csv = client.getObjectAsBytes(r -> r.bucket(vault).key("repo/uploads/" + job.batchId() + "/batch/manifest.csv"))
        .asString(StandardCharsets.UTF_8);
    assertThat(csv.lines()).hasSize(30).allSatisfy(l -> assertThat(l).startsWith(app + ",uploads/"))
        .contains(app + ",uploads/avatars/%E5%8B%87%E8%80%85%20%233%2B.png");

    S3BatchCopy.Copies copies = job.await();
    assertThat(copies.failedTasks()).isEqualTo(1);
    assertThat(batchOperations.copiedKeys).hasSize(29).contains("uploads/avatars/勇者 #3+.png");

    Thread.sleep(1100);
    byte[] sameSize = new byte[current.get("maps/k07.bin").length];
    random.nextBytes(sameSize);
    put("maps/k07.bin", sameSize); // changed after the job copied it: only the copy's time tells
    Manifest first = plan(source.adopting(copies)).run().manifest();
    assertThat(first.source().facts()).containsEntry("objectCount", 30).containsEntry("adoptedObjects", 28)
        .containsEntry("copiedObjects", 2); // the failed task and the object changed since its copy
    List<String> keys = new ArrayList<>();
    ObjectIndex.forEach(repo, first, e -> keys.add(e.artifact().key()));
    assertThat(keys).filteredOn(k -> k.startsWith("uploads/" + job.batchId() + "/objects/uploads/")).hasSize(28);

    assertRestoresAsTheBucketIs(first, "first");
    assertThat(repo.verify(first, List.of(Verifiers.presence(0), Verifiers.storedDigest(), Verifiers.roundTrip())))
        .allMatch(VerificationResult::passed);

    // Right after the adopting backup, the stale copy of k07 and the job's manifest go: the batch then holds exactly
    // what the backup adopted. A backup that adopted nothing from the batch cannot discard its copies.
    Manifest full = plan(source.fullCopies()).run().manifest();
    assertThatThrownBy(() -> copies.discardUnadopted(repo, full)).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("adopted nothing");
    Manifest ofAnotherPlan = new Manifest(first.formatVersion(), first.id(), "uploads-of-another-service-named-at-length",
        first.tier(), first.labels(), first.startedAt(), first.finishedAt(), first.source(), first.artifacts(),
        first.references()); // a plan name longer than the batch's directory
    assertThatThrownBy(() -> copies.discardUnadopted(repo, ofAnotherPlan)).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("adopted nothing");
    repo.delete(full);
    assertThat(copies.discardUnadopted(repo, first)).isOne();
    assertThat(repoStore.list("uploads/" + job.batchId() + "/")).extracting(ObjectInfo::key)
        .containsExactlyInAnyOrderElementsOf(keys.stream()
            .filter(k -> k.startsWith("uploads/" + job.batchId() + "/")).toList());

    // The copies are the backup's objects now: the next backup reuses them, and a new batch lists only changes.
    Manifest second = plan(source).run().manifest();
    assertThat(second.source().facts()).containsEntry("reusedObjects", 30).containsEntry("copiedObjects", 0);
    put("maps/k11.bin", "edited".getBytes(StandardCharsets.UTF_8));
    assertThat(batch.start("uploads", source, repo).objects()).isEqualTo(1);

    assertThatThrownBy(() -> copies.discardUnadopted(repo, first)).as("the second backup reads the batch too")
        .isInstanceOf(IllegalStateException.class).hasMessageContaining(second.id());
    // A batch no backup adopted from is an orphan, removed whole; the adopted one is none.
    assertThat(repo.orphans("uploads", Duration.ZERO)).hasSize(1);
    repo.deleteOrphans("uploads", Duration.ZERO);
    assertThat(repo.orphans("uploads", Duration.ZERO)).isEmpty();
    assertThat(repoStore.list("uploads/" + job.batchId() + "/")).hasSize(28);
    assertRestoresAsTheBucketIs(second, "after-cleanup", "maps/k11.bin");
  }

  @Test
  void nothingChangedMeansNoJobAndAPlanWithTransformsCopiesItself() throws Exception {
    put("a.txt", "alpha".getBytes(StandardCharsets.UTF_8));
    put("b.txt", "beta".getBytes(StandardCharsets.UTF_8));
    Thread.sleep(1100);
    BucketSource source = BucketSource.of(uploads);
    S3BatchCopy.Copies copies = batch.start("uploads", source, repo).await();
    Manifest compressed = BackupPlan.builder("uploads").source(source.adopting(copies)).transform(Transforms.zstd())
        .repository(repo).build().run().manifest();
    assertThat(compressed.source().facts()).containsEntry("adoptedObjects", 0).containsEntry("copiedObjects", 2);

    S3BatchCopy.Job none = batch.start("uploads", source, repo);
    assertThat(none.jobId()).isEmpty();
    assertThat(none.objects()).isZero();
    assertThat(batchOperations.created).hasSize(1);
  }

  /**
   * On AWS the copy's HEAD carries the full-object SHA-256 the job computed (S3Proxy has none, so the test above
   * reads each copy once): it is the digest, and nothing is read. A client double answers the HEAD; any read fails.
   */
  @Test
  void s3sOwnChecksumOfTheCopyIsItsDigestWithoutReadingIt() throws Exception {
    byte[] content = "the copy's bytes".getBytes(StandardCharsets.UTF_8);
    String sha256 = dev.savepoint.core.internal.Probe.sha256Of(content, 0, content.length);
    java.time.Instant changed = java.time.Instant.parse("2026-11-29T10:00:00Z");
    java.time.Instant[] copied = {changed.plusSeconds(60)};
    ChecksumType[] type = {ChecksumType.FULL_OBJECT};
    S3Client headOnly = new S3Client() {
      @Override
      public HeadObjectResponse headObject(HeadObjectRequest request) {
        assertThat(request.checksumMode()).isEqualTo(ChecksumMode.ENABLED);
        assertThat(request.key()).isEqualTo("repo/uploads/B/objects/uploads/a.txt");
        return HeadObjectResponse.builder().contentLength((long) content.length).lastModified(copied[0])
            .checksumType(type[0])
            .checksumSHA256(java.util.Base64.getEncoder().encodeToString(java.util.HexFormat.of().parseHex(sha256)))
            .build();
      }

      @Override
      public String serviceName() {
        return "s3 (double)";
      }

      @Override
      public void close() {}
    };
    S3BatchCopy.Copies copies = new S3BatchCopy.Copies(S3Store.builder(headOnly, "vault").prefix("repo/").build(),
        "uploads/B/", "uploads/");
    dev.savepoint.core.store.ObjectInfo listed = new dev.savepoint.core.store.ObjectInfo("a.txt", content.length, changed, "e");
    assertThat(copies.copyOf(listed, "objects/a.txt")).hasValueSatisfying(r -> {
      assertThat(r.rawSha256()).isEqualTo(sha256).isEqualTo(r.storedSha256());
      assertThat(r.key()).isEqualTo("uploads/B/objects/uploads/a.txt");
      assertThat(r.transforms()).isEmpty();
    });
    copied[0] = changed; // copied in the second of the object's last change: it may hold the older bytes
    assertThat(copies.copyOf(listed, "objects/a.txt")).isEmpty();
    assertThat(copies.copyOf(new dev.savepoint.core.store.ObjectInfo("a.txt", 99, java.time.Instant.EPOCH, "e"),
        "objects/a.txt")).as("another size").isEmpty();
    copied[0] = changed.plusSeconds(60);
    type[0] = ChecksumType.COMPOSITE; // a checksum of parts is no SHA-256 of the object: read it (here: refused)
    assertThatThrownBy(() -> copies.copyOf(listed, "objects/a.txt")).isInstanceOf(UnsupportedOperationException.class);
  }

  @Test
  void badSettingsAreClearErrors() {
    assertThatThrownBy(() -> S3BatchCopy.builder(batchOperations, "12345", ROLE))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("12 digits");
    assertThatThrownBy(() -> S3BatchCopy.builder(batchOperations, "123456789012", "savepoint-role"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("role ARN");
    BucketSource notS3 = BucketSource.of(new dev.savepoint.core.store.InMemoryStore());
    assertThatThrownBy(() -> batch.start("uploads", notS3, repo))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("copies from S3");
    Repository notS3Repository = new Repository(new dev.savepoint.core.store.InMemoryStore());
    assertThatThrownBy(() -> batch.start("uploads", BucketSource.of(uploads), notS3Repository))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("copies into S3");
  }

  private void assertRestoresAsTheBucketIs(Manifest backup, String name, String... changedSince) throws Exception {
    Path dir = tmp.resolve(name);
    repo.restore(backup, new FilesTarget(dir, BucketSource.ARTIFACT_PREFIX), Secrets.none());
    for (Map.Entry<String, byte[]> e : current.entrySet()) {
      if (!List.of(changedSince).contains(e.getKey())) {
        assertThat(Files.readAllBytes(dir.resolve(e.getKey()))).as(e.getKey()).isEqualTo(e.getValue());
      }
    }
  }
}
