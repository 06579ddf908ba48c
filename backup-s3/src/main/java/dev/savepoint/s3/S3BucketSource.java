package dev.savepoint.s3;

import dev.savepoint.core.ArtifactWriter;
import dev.savepoint.core.Source;
import dev.savepoint.core.SourceException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * Backs up the objects under {@code s3://bucket/prefix} (the application's uploads) as one backup: one artifact
 * per object, named {@value #ARTIFACT_PREFIX}{@code <key relative to the prefix>}, streamed with
 * {@code parallelism} objects in flight. The manifest lists every object with its size and ETag; the artifact
 * records add the SHA-256 of each. Restore with {@link S3BucketTarget} (to a bucket prefix) or
 * {@link dev.savepoint.core.FilesTarget} (to a local directory, as {@code aws s3 sync} would).
 *
 * <p>Every backup copies every object; incremental backups that reference unchanged objects of earlier backups
 * are not implemented yet.
 */
public final class S3BucketSource implements Source {
  public static final String ARTIFACT_PREFIX = "objects/";

  private final S3Client client;
  private final String bucket;
  private final String prefix;
  private final int parallelism;

  public S3BucketSource(S3Client client, String bucket, String prefix, int parallelism) {
    this.client = client;
    this.bucket = bucket;
    this.prefix = prefix == null ? "" : prefix;
    this.parallelism = Math.max(1, parallelism);
  }

  @Override
  public String type() {
    return "s3-bucket";
  }

  @Override
  public Map<String, Object> backup(ArtifactWriter writer) throws IOException {
    List<S3Object> objects = new ArrayList<>();
    try {
      for (S3Object o : client.listObjectsV2Paginator(r -> r.bucket(bucket).prefix(prefix)).contents()) {
        if (!o.key().endsWith("/")) {
          objects.add(o);
        }
      }
    } catch (SdkException e) {
      throw new SourceException("cannot list s3://" + bucket + "/" + prefix + ": " + e.getMessage(), e);
    }
    ExecutorService pool = Executors.newFixedThreadPool(parallelism, r -> {
      Thread t = new Thread(r, "savepoint-bucket-source");
      t.setDaemon(true);
      return t;
    });
    try {
      List<Future<?>> copies = new ArrayList<>();
      for (S3Object o : objects) {
        copies.add(pool.submit(() -> {
          try (InputStream in = client.getObject(r -> r.bucket(bucket).key(o.key()))) {
            OutputStream out = writer.open(ARTIFACT_PREFIX + o.key().substring(prefix.length()));
            in.transferTo(out);
            out.close();
          } catch (SdkException e) {
            throw new SourceException("cannot read s3://" + bucket + "/" + o.key() + ": " + e.getMessage(), e);
          }
          return null;
        }));
      }
      for (Future<?> f : copies) {
        f.get();
      }
    } catch (ExecutionException e) {
      throw e.getCause() instanceof IOException io ? io : new SourceException(String.valueOf(e.getCause()), e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SourceException("interrupted while copying s3://" + bucket + "/" + prefix);
    } finally {
      pool.shutdownNow();
    }
    List<Map<String, Object>> listing = new ArrayList<>();
    long bytes = 0;
    for (S3Object o : objects) {
      Map<String, Object> entry = new LinkedHashMap<>();
      entry.put("key", o.key());
      entry.put("size", o.size());
      entry.put("etag", o.eTag());
      listing.add(entry);
      bytes += o.size();
    }
    Map<String, Object> facts = new LinkedHashMap<>();
    facts.put("bucket", bucket);
    facts.put("prefix", prefix);
    facts.put("objectCount", objects.size());
    facts.put("objectBytes", bytes);
    facts.put("objects", listing);
    return facts;
  }
}
