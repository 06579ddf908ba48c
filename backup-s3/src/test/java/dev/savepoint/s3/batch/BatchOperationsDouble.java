package dev.savepoint.s3.batch;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.ChecksumAlgorithm;
import software.amazon.awssdk.services.s3control.S3ControlClient;
import software.amazon.awssdk.services.s3control.model.CreateJobRequest;
import software.amazon.awssdk.services.s3control.model.CreateJobResponse;
import software.amazon.awssdk.services.s3control.model.DescribeJobRequest;
import software.amazon.awssdk.services.s3control.model.DescribeJobResponse;
import software.amazon.awssdk.services.s3control.model.JobDescriptor;
import software.amazon.awssdk.services.s3control.model.JobProgressSummary;
import software.amazon.awssdk.services.s3control.model.JobStatus;
import software.amazon.awssdk.services.s3control.model.S3CopyObjectOperation;
import software.amazon.awssdk.services.s3control.model.S3ControlException;

/**
 * A client double of S3 Batch Operations — no local server runs them — over a real S3-compatible server. It does
 * what the service documents for an {@code S3PutObjectCopy} job with a CSV manifest: {@code createJob} refuses a
 * manifest whose ETag is not the stored object's; the job runs on the second {@code describeJob} (the first sees
 * it {@code Active}): every manifest line ({@code bucket,URL-encoded key}) is copied with {@code CopyObject} to
 * {@code <TargetKeyPrefix>/<key>} in the target bucket, with the requested checksum algorithm; keys in
 * {@link #failing} fail as tasks. Records the requests for the test to check.
 */
final class BatchOperationsDouble implements S3ControlClient {
  final S3Client s3;
  final Set<String> failing = new HashSet<>();
  final List<CreateJobRequest> created = new ArrayList<>();
  final List<String> copiedKeys = new ArrayList<>();
  private int describes;
  private JobDescriptor ended;

  BatchOperationsDouble(S3Client s3) {
    this.s3 = s3;
  }

  @Override
  public CreateJobResponse createJob(CreateJobRequest request) {
    String arn = request.manifest().location().objectArn(); // arn:aws:s3:::bucket/key
    String[] bucketAndKey = arn.substring(arn.indexOf(":::") + 3).split("/", 2);
    String etag = s3.headObject(r -> r.bucket(bucketAndKey[0]).key(bucketAndKey[1])).eTag();
    if (!etag.equals(request.manifest().location().eTag())) {
      throw (S3ControlException) S3ControlException.builder().statusCode(400)
          .message("manifest ETag " + request.manifest().location().eTag() + " is not " + etag).build();
    }
    created.add(request);
    describes = 0;
    ended = null;
    return CreateJobResponse.builder().jobId("job-" + created.size()).build();
  }

  @Override
  public DescribeJobResponse describeJob(DescribeJobRequest request) {
    CreateJobRequest job = created.get(created.size() - 1);
    if (++describes == 1) {
      return DescribeJobResponse.builder().job(JobDescriptor.builder().jobId(request.jobId()).status(JobStatus.ACTIVE)
          .build()).build();
    }
    if (ended == null) {
      ended = run(request.jobId(), job);
    }
    return DescribeJobResponse.builder().job(ended).build();
  }

  private JobDescriptor run(String jobId, CreateJobRequest job) {
    String arn = job.manifest().location().objectArn();
    String[] bucketAndKey = arn.substring(arn.indexOf(":::") + 3).split("/", 2);
    String csv = s3.getObjectAsBytes(r -> r.bucket(bucketAndKey[0]).key(bucketAndKey[1])).asString(StandardCharsets.UTF_8);
    S3CopyObjectOperation copy = job.operation().s3PutObjectCopy();
    String targetBucket = copy.targetResource().substring(copy.targetResource().indexOf(":::") + 3);
    long succeeded = 0;
    long failed = 0;
    for (String line : csv.split("\n")) {
      String[] fields = line.split(",", 2);
      String key = URLDecoder.decode(fields[1], StandardCharsets.UTF_8);
      if (failing.contains(key)) {
        failed++;
        continue;
      }
      s3.copyObject(r -> r.sourceBucket(fields[0]).sourceKey(key).destinationBucket(targetBucket)
          .destinationKey(copy.targetKeyPrefix() + "/" + key)
          .checksumAlgorithm(ChecksumAlgorithm.fromValue(copy.checksumAlgorithmAsString())));
      copiedKeys.add(key);
      succeeded++;
    }
    return JobDescriptor.builder().jobId(jobId).status(JobStatus.COMPLETE)
        .progressSummary(JobProgressSummary.builder().totalNumberOfTasks(succeeded + failed)
            .numberOfTasksSucceeded(succeeded).numberOfTasksFailed(failed).build())
        .build();
  }

  @Override
  public String serviceName() {
    return "s3control (double)";
  }

  @Override
  public void close() {}
}
