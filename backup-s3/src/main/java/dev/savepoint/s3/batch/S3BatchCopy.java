package dev.savepoint.s3.batch;

import dev.savepoint.core.ArtifactRecord;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.ObjectIndex;
import dev.savepoint.core.Repository;
import dev.savepoint.core.StoreException;
import dev.savepoint.core.internal.BackupIds;
import dev.savepoint.core.internal.BatchedDeletes;
import dev.savepoint.core.internal.Keys;
import dev.savepoint.core.internal.OwnerOnly;
import dev.savepoint.core.internal.Probe;
import dev.savepoint.core.internal.ProbeOutputStream;
import dev.savepoint.core.sources.BucketSource;
import dev.savepoint.core.store.ObjectInfo;
import dev.savepoint.core.store.Store;
import dev.savepoint.core.store.Stores;
import dev.savepoint.s3.S3Store;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.s3.model.ChecksumMode;
import software.amazon.awssdk.services.s3.model.ChecksumType;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3control.S3ControlClient;
import software.amazon.awssdk.services.s3control.model.CreateJobRequest;
import software.amazon.awssdk.services.s3control.model.JobDescriptor;
import software.amazon.awssdk.services.s3control.model.JobManifest;
import software.amazon.awssdk.services.s3control.model.JobManifestFieldName;
import software.amazon.awssdk.services.s3control.model.JobManifestFormat;
import software.amazon.awssdk.services.s3control.model.JobManifestLocation;
import software.amazon.awssdk.services.s3control.model.JobManifestSpec;
import software.amazon.awssdk.services.s3control.model.JobOperation;
import software.amazon.awssdk.services.s3control.model.JobReport;
import software.amazon.awssdk.services.s3control.model.JobReportFormat;
import software.amazon.awssdk.services.s3control.model.JobReportScope;
import software.amazon.awssdk.services.s3control.model.JobStatus;
import software.amazon.awssdk.services.s3control.model.S3ChecksumAlgorithm;
import software.amazon.awssdk.services.s3control.model.S3CopyObjectOperation;
import software.amazon.awssdk.services.s3control.model.S3MetadataDirective;
import software.amazon.awssdk.services.s3control.model.S3StorageClass;
import software.amazon.awssdk.utils.http.SdkHttpUtils;

/**
 * Lets S3 Batch Operations do the copy step of a bucket backup, for buckets too large for one process to copy
 * in time (tens of millions of objects; see the operations guide): S3 copies, Savepoint keeps the index,
 * verification and retention.
 *
 * <ol>
 *   <li>{@link #start} lists the bucket, merges it with the plan's newest backup ({@link BucketSource#forEachChange})
 *   and writes the new and changed objects' keys as a CSV manifest into the repository bucket, then creates a job
 *   ({@code S3PutObjectCopy}, SHA-256 checksums, a report of failed tasks) that copies them under
 *   {@code <plan>/<batch id>/objects/} of the repository — where a backup's own objects would lie.</li>
 *   <li>{@link Job#await} waits for the job to end.</li>
 *   <li>The backup, with {@code BucketSource.adopting(copies)}, records each copy whose size matches the listed
 *   object and that was made after the object's last change, with the SHA-256 S3 computed while copying (or, where
 *   S3 has none, one read of the copy); every other object — a failed task, one changed since — it copies itself.
 *   From then on the copies are the backup's objects: reused by later backups, read and verified by restores and
 *   {@code verify}, deleted by prune when no backup records them.</li>
 *   <li>{@link Copies#discardUnadopted} deletes the copies the backup did not adopt and the job's manifest and
 *   report. (A batch no backup adopted from at all is an orphan that {@code cleanup} removes whole.)</li>
 * </ol>
 *
 * <pre>{@code
 * S3BatchCopy batch = S3BatchCopy.builder(S3ControlClient.create(), "123456789012",
 *     "arn:aws:iam::123456789012:role/savepoint-batch-copy").build();
 * BucketSource uploads = BucketSource.of(S3Store.builder(s3, "app").prefix("uploads/").build());
 * S3BatchCopy.Copies copies = batch.start("uploads", uploads, repository).await();
 * Manifest backup = BackupPlan.builder("uploads").source(uploads.adopting(copies)).repository(repository).build()
 *     .run().manifest();
 * copies.discardUnadopted(repository, backup);
 * }</pre>
 *
 * <p>The copies are the objects' own bytes, protected by the repository bucket's server-side encryption and Object
 * Lock: the plan has no transforms. The job's role needs {@code s3:GetObject} on the bucket and
 * {@code s3:PutObject} and {@code s3:GetObject} on the repository bucket (manifest and report).
 *
 * <p>Tested against a double of {@link S3ControlClient} that does what the service documents (no local server runs
 * Batch Operations) over a real S3-compatible server.
 */
public final class S3BatchCopy {
  private static final Logger log = LoggerFactory.getLogger(S3BatchCopy.class);
  private static final Set<JobStatus> ENDED = Set.of(JobStatus.COMPLETE, JobStatus.FAILED, JobStatus.CANCELLED);

  private final S3ControlClient control;
  private final String accountId;
  private final String roleArn;
  private final String partition;
  private final int priority;
  private final @Nullable S3StorageClass storageClass;
  private final Duration pollInterval;
  private final Duration timeout;

  private S3BatchCopy(Builder b) {
    this.control = b.control;
    this.accountId = b.accountId;
    this.roleArn = b.roleArn;
    this.partition = b.partition;
    this.priority = b.priority;
    this.storageClass = b.storageClass;
    this.pollInterval = b.pollInterval;
    this.timeout = b.timeout;
  }

  /** Jobs of account {@code accountId} (12 digits), run as {@code roleArn}. */
  public static Builder builder(S3ControlClient control, String accountId, String roleArn) {
    return new Builder(control, accountId, roleArn);
  }

  /**
   * Writes the manifest of what a backup of {@code plan} into {@code repository} would copy from {@code source}
   * (both in S3) and creates the job. Nothing to copy: no job, and the backup adopts nothing.
   */
  public Job start(String plan, BucketSource source, Repository repository) throws IOException {
    if (!(Stores.backend(source.store()) instanceof S3Store bucket)) {
      throw new IllegalArgumentException("S3 Batch Operations copies from S3: the bucket source reads "
          + source.store().describe());
    }
    if (!(Stores.backend(repository.store()) instanceof S3Store repositoryStore)) {
      throw new IllegalArgumentException("S3 Batch Operations copies into S3: the repository is "
          + repository.store().describe());
    }
    String batch = BackupIds.newId(Instant.now());
    String base = BackupIds.requireValidPlan(plan) + "/" + batch + "/";
    Path csv = Files.createTempFile("savepoint-batch-", ".csv", OwnerOnly.file()); // the bucket's file names
    try {
      long count;
      try (BufferedWriter out = Files.newBufferedWriter(csv, StandardCharsets.UTF_8)) {
        count = source.forEachChange(repository, plan, o -> {
          // Keys are URL-encoded in a CSV manifest, as the service requires.
          out.write(bucket.bucket() + "," + SdkHttpUtils.urlEncodeIgnoreSlashes(bucket.prefix() + o.key()) + "\n");
        });
      }
      if (count == 0) {
        log.info("nothing new in {} since the newest backup of plan '{}': no Batch Operations job", bucket.describe(),
            plan);
        return new Job(null, batch, 0, new Copies(repositoryStore, null, null));
      }
      String manifestKey = base + "batch/manifest.csv";
      try (InputStream in = Files.newInputStream(csv)) {
        repositoryStore.put(manifestKey, in);
      }
      String etag = repositoryStore.stat(manifestKey).orElseThrow(() -> new StoreException(
          "the Batch Operations manifest " + manifestKey + " vanished right after it was written")).etag();
      String repoArn = "arn:" + partition + ":s3:::" + repositoryStore.bucket();
      S3CopyObjectOperation.Builder copy = S3CopyObjectOperation.builder()
          .targetResource(repoArn)
          .targetKeyPrefix(repositoryStore.prefix() + base + "objects") // copies go to <prefix>/<source key>
          .metadataDirective(S3MetadataDirective.COPY)
          .checksumAlgorithm(S3ChecksumAlgorithm.SHA256);
      if (storageClass != null) {
        copy.storageClass(storageClass);
      }
      CreateJobRequest request = CreateJobRequest.builder()
          .accountId(accountId)
          .roleArn(roleArn)
          .priority(priority)
          .confirmationRequired(false)
          .clientRequestToken(batch) // a retried request creates no second job
          .description(abbreviate("savepoint " + plan + " " + batch + ": " + count + " objects of "
              + bucket.describe()))
          .operation(JobOperation.builder().s3PutObjectCopy(copy.build()).build())
          .manifest(JobManifest.builder()
              .spec(JobManifestSpec.builder().format(JobManifestFormat.S3_BATCH_OPERATIONS_CSV_20180820)
                  .fields(JobManifestFieldName.BUCKET, JobManifestFieldName.KEY).build())
              .location(JobManifestLocation.builder()
                  .objectArn(repoArn + "/" + repositoryStore.prefix() + manifestKey).eTag(etag).build())
              .build())
          .report(JobReport.builder().enabled(true).bucket(repoArn).prefix(repositoryStore.prefix() + base + "batch")
              .format(JobReportFormat.REPORT_CSV_20180820).reportScope(JobReportScope.FAILED_TASKS_ONLY).build())
          .build();
      String jobId;
      try {
        jobId = control.createJob(request).jobId();
      } catch (SdkException e) {
        throw new StoreException("cannot create the S3 Batch Operations job copying " + count + " objects of "
            + bucket.describe() + ": " + e.getMessage(), e);
      }
      log.info("S3 Batch Operations job {} copies {} objects of {} into {}", jobId, count, bucket.describe(),
          repositoryStore.describe() + base + "objects/");
      return new Job(jobId, batch, count, new Copies(repositoryStore, base, bucket.prefix()));
    } finally {
      Files.deleteIfExists(csv);
    }
  }

  private static String abbreviate(String s) {
    return s.length() <= 256 ? s : s.substring(0, 253) + "...";
  }

  /** A started copy: {@link #await} it, then back up with {@code BucketSource.adopting(copies)}. */
  public final class Job {
    private final @Nullable String jobId;
    private final String batch;
    private final long objects;
    private final Copies copies;

    private Job(@Nullable String jobId, String batch, long objects, Copies copies) {
      this.jobId = jobId;
      this.batch = batch;
      this.objects = objects;
      this.copies = copies;
    }

    /** The service's job id; empty when there was nothing to copy. */
    public Optional<String> jobId() {
      return Optional.ofNullable(jobId);
    }

    /** Where the copies go: {@code <plan>/<batch id>/objects/} of the repository. */
    public String batchId() {
      return batch;
    }

    /** How many objects the manifest lists. */
    public long objects() {
      return objects;
    }

    /**
     * Waits until the job has ended (polling every {@code pollInterval}) and returns the copies to adopt. A job
     * that failed or was cancelled part-way is not an error here: the backup copies whatever it did not. Throws a
     * {@link StoreException} when the job has not ended within {@code timeout}.
     */
    public Copies await() throws IOException {
      if (jobId == null) {
        return copies;
      }
      Instant deadline = Instant.now().plus(timeout);
      while (true) {
        JobDescriptor job;
        try {
          job = control.describeJob(r -> r.accountId(accountId).jobId(jobId)).job();
        } catch (SdkException e) {
          throw new StoreException("cannot read the state of S3 Batch Operations job " + jobId + ": " + e.getMessage(), e);
        }
        if (ENDED.contains(job.status())) {
          long failed = job.progressSummary() == null || job.progressSummary().numberOfTasksFailed() == null ? 0
              : job.progressSummary().numberOfTasksFailed();
          copies.ended(job.status(), failed);
          if (job.status() != JobStatus.COMPLETE || failed > 0) {
            log.warn("S3 Batch Operations job {} ended {} with {} of {} tasks failed ({}); the backup copies those "
                + "objects itself; the report is under {}batch/", jobId, job.status(), failed, objects,
                job.hasFailureReasons() ? job.failureReasons() : String.valueOf(job.statusUpdateReason()), batch);
          }
          return copies;
        }
        if (Instant.now().isAfter(deadline)) {
          throw new StoreException("S3 Batch Operations job " + jobId + " is still " + job.status() + " after "
              + timeout + "; back up without adopting its copies, or wait longer (timeout)");
        }
        try {
          Thread.sleep(pollInterval.toMillis());
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new StoreException("interrupted while waiting for S3 Batch Operations job " + jobId);
        }
      }
    }
  }

  /**
   * The copies a job made, found by key in the repository bucket: adopted when the copy's size is the listed
   * object's and the copy was made after the object's last change (so it holds those bytes — S3 reads are
   * strongly consistent), with the full-object SHA-256 S3 computed while copying, or by reading the copy once
   * where S3 has none.
   */
  public static final class Copies implements BucketSource.ProvidedCopies {
    private final S3Store repository;
    /** The batch's directory in the repository; null when there was no job (nothing to adopt). */
    private final @Nullable String directory;
    /** Where the job put the copies. */
    private final @Nullable String base;
    private volatile @Nullable JobStatus status;
    private volatile long failedTasks;

    Copies(S3Store repository, @Nullable String directory, @Nullable String bucketPrefix) {
      this.repository = repository;
      this.directory = directory;
      this.base = directory == null ? null : directory + "objects/" + bucketPrefix;
    }

    void ended(JobStatus status, long failedTasks) {
      this.status = status;
      this.failedTasks = failedTasks;
    }

    /** How the job ended; empty if there was no job. */
    public Optional<JobStatus> status() {
      return Optional.ofNullable(status);
    }

    /** Tasks the job reports as failed (their objects are copied by the backup). */
    public long failedTasks() {
      return failedTasks;
    }

    @Override
    public Optional<ArtifactRecord> copyOf(ObjectInfo object, String artifactName) throws IOException {
      if (base == null || !artifactName.equals(BucketSource.ARTIFACT_PREFIX + object.key())) {
        return Optional.empty(); // a key that is no safe repository path: copied (and renamed) by the backup
      }
      String key = base + object.key();
      try {
        Keys.requireObjectKey(key);
      } catch (IllegalArgumentException e) {
        return Optional.empty();
      }
      HeadObjectResponse head;
      try {
        head = repository.client().headObject(r -> r.bucket(repository.bucket()).key(repository.prefix() + key)
            .checksumMode(ChecksumMode.ENABLED));
      } catch (NoSuchKeyException e) {
        return Optional.empty();
      } catch (S3Exception e) {
        if (e.statusCode() == 404) {
          return Optional.empty();
        }
        throw new StoreException("cannot look up the copy " + key + ": " + e.getMessage(), e);
      } catch (SdkException e) {
        throw new StoreException("cannot look up the copy " + key + ": " + e.getMessage(), e);
      }
      if (head.contentLength() == null || head.contentLength() != object.size() || head.lastModified() == null
          || !head.lastModified().isAfter(object.lastModified())) {
        return Optional.empty(); // another size, or copied before the object's last change (or in its second)
      }
      String sha256 = head.checksumSHA256() != null && head.checksumType() != ChecksumType.COMPOSITE
          ? HexFormat.of().formatHex(java.util.Base64.getDecoder().decode(head.checksumSHA256()))
          : digest(key, object.size());
      if (sha256 == null) {
        return Optional.empty();
      }
      return Optional.of(new ArtifactRecord(artifactName, key, object.size(), object.size(), sha256, sha256,
          List.of()));
    }

    /**
     * Deletes the copies {@code backup} did not adopt (those of objects changed since their copy) and the job's
     * manifest and report, once that backup is complete: the batch's directory then holds exactly the objects the
     * backup records there, and retention deletes those when no backup records them any more. Without it they stay
     * as long as a backup reads from the batch. The batch's listing and the backup's index are walked side by side in
     * key order: memory does not grow with the number of copies. Returns how many copies were deleted.
     *
     * @throws IllegalStateException if {@code backup} adopted nothing from this batch, or another backup of the plan
     *     reads from it too (run it right after the adopting backup, before the next one reuses the copies)
     */
    public long discardUnadopted(Repository repositoryOfBackup, Manifest backup) throws IOException {
      if (directory == null) {
        return 0;
      }
      String batch = directory.startsWith(backup.plan() + "/")
          ? directory.substring(backup.plan().length() + 1, directory.length() - 1) : null;
      if (batch == null || backup.references() == null || !backup.references().contains(batch)) {
        throw new IllegalStateException("backup " + backup.id() + " adopted nothing from batch " + directory
            + "; a batch no backup adopted from is an orphan that cleanup removes whole");
      }
      for (Manifest other : repositoryOfBackup.list(backup.plan())) {
        if (!other.id().equals(backup.id()) && (other.references() == null || other.references().contains(batch))) {
          throw new IllegalStateException("backup " + other.id() + " also reads from batch " + directory + ": only "
              + "copies no backup records may go, so discard right after the adopting backup; nothing was deleted");
        }
      }
      if (backup.source().facts().containsKey("keysListedOutOfOrder")) {
        throw new IllegalStateException("the index of backup " + backup.id() + " is not in key order (its bucket "
            + "listed keys out of order): copies it did not adopt stay until no backup reads from the batch");
      }
      Store store = repositoryOfBackup.store();
      BatchedDeletes doomed = new BatchedDeletes(store);
      long discarded = 0;
      try (ObjectIndex.Reader adopted = ObjectIndex.open(repositoryOfBackup, backup)) {
        String next = nextAdopted(adopted, null);
        String last = null;
        for (ObjectInfo copy : store.listing(directory + BucketSource.ARTIFACT_PREFIX)) {
          if (last != null && Keys.compareCodePoints(last, copy.key()) > 0) {
            throw new StoreException(store.describe() + " listed " + copy.key() + " after " + last + ", out of key "
                + "order: no more copies were discarded");
          }
          last = copy.key();
          while (next != null && Keys.compareCodePoints(next, copy.key()) < 0) {
            next = nextAdopted(adopted, next);
          }
          if (!copy.key().equals(next)) {
            doomed.add(copy.key());
            discarded++;
          }
        }
        for (ObjectInfo o : store.listing(directory + "batch/")) {
          doomed.add(o.key());
        }
        doomed.flush();
      } catch (java.io.UncheckedIOException e) {
        throw e.getCause();
      }
      log.info("discarded {} copies of batch {} that backup {} did not adopt, and the job's manifest and report",
          discarded, directory, backup.id());
      return discarded;
    }

    /** The key of the next copy in the batch {@code backup} records, after {@code previous}; null at the end. */
    private @Nullable String nextAdopted(ObjectIndex.Reader index, @Nullable String previous) throws IOException {
      for (ObjectIndex.Entry e; (e = index.next()) != null; ) {
        String key = e.artifact().key();
        if (key.startsWith(directory)) {
          if (previous != null && Keys.compareCodePoints(previous, key) > 0) {
            throw new IllegalStateException("the index of the backup is not in key order at " + key);
          }
          return key;
        }
      }
      return null;
    }

    /** The SHA-256 of the copy, read once; null if it is gone or not {@code size} bytes any more. */
    private @Nullable String digest(String key, long size) throws IOException {
      Probe probe = new Probe();
      try (InputStream in = repository.get(key)) {
        in.transferTo(new ProbeOutputStream(OutputStream.nullOutputStream(), probe));
      } catch (dev.savepoint.core.ObjectNotFoundException e) {
        return null;
      }
      return probe.bytes() == size ? probe.sha256() : null;
    }
  }

  /** Configures jobs: account, role, priority, the copies' storage class, how long to wait. */
  public static final class Builder {
    private final S3ControlClient control;
    private final String accountId;
    private final String roleArn;
    private String partition = "aws";
    private int priority = 10;
    private @Nullable S3StorageClass storageClass;
    private Duration pollInterval = Duration.ofSeconds(30);
    private Duration timeout = Duration.ofHours(24);

    private Builder(S3ControlClient control, String accountId, String roleArn) {
      this.control = Objects.requireNonNull(control, "control");
      if (accountId == null || !accountId.matches("\\d{12}")) {
        throw new IllegalArgumentException("an AWS account id is 12 digits, was '" + accountId + "'");
      }
      this.accountId = accountId;
      if (roleArn == null || !roleArn.startsWith("arn:")) {
        throw new IllegalArgumentException("the job's role is an IAM role ARN, was '" + roleArn + "'");
      }
      this.roleArn = roleArn;
    }

    /** The ARN partition of the buckets: {@code aws} (default), {@code aws-cn}, {@code aws-us-gov}. */
    public Builder partition(String partition) {
      this.partition = Objects.requireNonNull(partition);
      return this;
    }

    /** The job's priority among the account's jobs (higher runs first; default 10). */
    public Builder priority(int priority) {
      this.priority = priority;
      return this;
    }

    /** The storage class of the copies (default: the repository bucket's default, STANDARD). */
    public Builder storageClass(S3StorageClass storageClass) {
      this.storageClass = storageClass;
      return this;
    }

    /** How often {@link Job#await} asks for the job's state (default 30 s). */
    public Builder pollInterval(Duration interval) {
      if (interval.isNegative()) {
        throw new IllegalArgumentException("poll interval must not be negative");
      }
      this.pollInterval = interval;
      return this;
    }

    /** How long {@link Job#await} waits for the job to end (default 24 h). */
    public Builder timeout(Duration timeout) {
      this.timeout = Objects.requireNonNull(timeout);
      return this;
    }

    public S3BatchCopy build() {
      return new S3BatchCopy(this);
    }
  }
}
