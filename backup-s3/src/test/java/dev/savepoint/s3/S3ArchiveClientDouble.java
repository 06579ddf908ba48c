package dev.savepoint.s3;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import software.amazon.awssdk.awscore.exception.AwsErrorDetails;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.core.sync.ResponseTransformer;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.AbortMultipartUploadRequest;
import software.amazon.awssdk.services.s3.model.AbortMultipartUploadResponse;
import software.amazon.awssdk.services.s3.model.CompleteMultipartUploadRequest;
import software.amazon.awssdk.services.s3.model.CompleteMultipartUploadResponse;
import software.amazon.awssdk.services.s3.model.CreateMultipartUploadRequest;
import software.amazon.awssdk.services.s3.model.CreateMultipartUploadResponse;
import software.amazon.awssdk.services.s3.model.DeleteObjectRequest;
import software.amazon.awssdk.services.s3.model.DeleteObjectResponse;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.HeadObjectRequest;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Request;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Response;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;
import software.amazon.awssdk.services.s3.model.PutObjectResponse;
import software.amazon.awssdk.services.s3.model.RestoreObjectRequest;
import software.amazon.awssdk.services.s3.model.RestoreObjectResponse;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.UploadPartRequest;
import software.amazon.awssdk.services.s3.model.UploadPartResponse;

/**
 * A client-level double of S3's archive tier, layered over a real S3-compatible server (which has no archive
 * tier). Objects written with storage class GLACIER or DEEP_ARCHIVE answer as real S3 does: GetObject fails
 * with 403 {@code InvalidObjectState} until restored; HeadObject reports the storage class and, once a
 * restore is requested, {@code x-amz-restore: ongoing-request="true"} for {@code pollsUntilRestored} polls,
 * then {@code ongoing-request="false"}. A repeated RestoreObject while restoring answers 409.
 */
final class S3ArchiveClientDouble implements S3Client {
  private final S3Client real;
  private final int pollsUntilRestored;
  private final Map<String, String> archivedClass = new ConcurrentHashMap<>();
  private final Map<String, Integer> restoring = new ConcurrentHashMap<>();
  final Map<String, String> restoreTiers = new ConcurrentHashMap<>();

  S3ArchiveClientDouble(S3Client real, int pollsUntilRestored) {
    this.real = real;
    this.pollsUntilRestored = pollsUntilRestored;
  }

  private void remember(String key, String storageClass) {
    if ("GLACIER".equals(storageClass) || "DEEP_ARCHIVE".equals(storageClass)) {
      archivedClass.put(key, storageClass);
    }
  }

  private boolean readable(String key) {
    Integer polls = restoring.get(key);
    return !archivedClass.containsKey(key) || polls != null && polls >= pollsUntilRestored;
  }

  @Override
  public PutObjectResponse putObject(PutObjectRequest r, RequestBody body) {
    remember(r.key(), r.storageClassAsString());
    return real.putObject(r.toBuilder().storageClass((String) null).build(), body);
  }

  @Override
  public CreateMultipartUploadResponse createMultipartUpload(CreateMultipartUploadRequest r) {
    remember(r.key(), r.storageClassAsString());
    return real.createMultipartUpload(r.toBuilder().storageClass((String) null).build());
  }

  @Override
  public UploadPartResponse uploadPart(UploadPartRequest r, RequestBody body) {
    return real.uploadPart(r, body);
  }

  @Override
  public CompleteMultipartUploadResponse completeMultipartUpload(CompleteMultipartUploadRequest r) {
    return real.completeMultipartUpload(r);
  }

  @Override
  public AbortMultipartUploadResponse abortMultipartUpload(AbortMultipartUploadRequest r) {
    return real.abortMultipartUpload(r);
  }

  @Override
  public <T> T getObject(GetObjectRequest r, ResponseTransformer<GetObjectResponse, T> transformer) {
    if (!readable(r.key())) {
      throw (S3Exception) S3Exception.builder().statusCode(403).message("The operation is not valid for the object's storage class")
          .awsErrorDetails(AwsErrorDetails.builder().errorCode("InvalidObjectState")
              .errorMessage("The operation is not valid for the object's storage class").build()).build();
    }
    return real.getObject(r, transformer);
  }

  @Override
  public HeadObjectResponse headObject(HeadObjectRequest r) {
    HeadObjectResponse head = real.headObject(r);
    String storageClass = archivedClass.get(r.key());
    if (storageClass == null) {
      return head;
    }
    HeadObjectResponse.Builder b = head.toBuilder().storageClass(storageClass);
    Integer polls = restoring.computeIfPresent(r.key(), (k, n) -> n + 1);
    if (polls != null) {
      b.restore(polls >= pollsUntilRestored
          ? "ongoing-request=\"false\", expiry-date=\"Fri, 01 Jan 2100 00:00:00 GMT\"" : "ongoing-request=\"true\"");
    }
    return b.build();
  }

  @Override
  public RestoreObjectResponse restoreObject(RestoreObjectRequest r) {
    if (restoring.containsKey(r.key())) {
      throw (S3Exception) S3Exception.builder().statusCode(409)
          .awsErrorDetails(AwsErrorDetails.builder().errorCode("RestoreAlreadyInProgress").build()).build();
    }
    restoreTiers.put(r.key(), r.restoreRequest().glacierJobParameters().tierAsString());
    restoring.put(r.key(), 0);
    return RestoreObjectResponse.builder().build();
  }

  @Override
  public ListObjectsV2Response listObjectsV2(ListObjectsV2Request r) {
    return real.listObjectsV2(r);
  }

  @Override
  public DeleteObjectResponse deleteObject(DeleteObjectRequest r) {
    return real.deleteObject(r);
  }

  @Override
  public String serviceName() {
    return real.serviceName();
  }

  @Override
  public void close() {
    real.close();
  }
}
