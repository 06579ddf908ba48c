package dev.savepoint.s3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.savepoint.core.BackupPlan;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.Repository;
import dev.savepoint.core.RestoreException;
import dev.savepoint.core.Secrets;
import dev.savepoint.core.Transforms;
import dev.savepoint.core.sources.BucketSource;
import dev.savepoint.core.sources.BucketTarget;
import dev.savepoint.core.sources.FilesTarget;
import dev.savepoint.core.store.FilesystemStore;
import dev.savepoint.core.store.ObjectInfo;
import dev.savepoint.testkit.TestS3Server;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

/** One odd upload name must not stop every backup of the bucket: every key S3 accepts is backed up and restored. */
class S3UnusualKeysTest {
  static final TestS3Server server = TestS3Server.shared();

  /** Keys real users and buggy clients produce; each object holds its own key as content. */
  static final List<String> CORPUS = List.of("a b.png", "./dot.png", "x/../../../escape.txt", "/leading.png",
      "double//slash.png", "trailing.png/", "back\\slash.png", "ctl\u0001char.png", "tab\there.png",
      "L".repeat(900) + ".png", "日本語/ファイル.png", "\u30D1.png", "\u30CF\u309A.png", "Case.png", "case.png",
      "folder", "folder/inside.png", "percent%2Fname", "empty.bin", "%/looks-escaped");

  @TempDir
  Path tmp;

  /**
   * Keys the in-process S3 server cannot hold (real S3 can): its Jetty refuses {@code ..} segments as ambiguous
   * and normalizes {@code //} and a leading slash (breaking the request signature), its filesystem backend drops
   * a leading {@code ./} and the content of a key ending in a slash,
   * cannot store names over 255 bytes or a key that is also another key's folder. The full corpus runs through
   * an object store that keeps every key (the in-memory store, which has S3's key rules). Listing a key with a
   * control character needs {@code encoding-type=url}, which the SDK asks for and the local server ignores.
   */
  static final java.util.Set<String> BEYOND_THE_LOCAL_SERVER = java.util.Set.of("x/../../../escape.txt",
      "/leading.png", "double//slash.png", "L".repeat(900) + ".png", "folder/inside.png", "ctl\u0001char.png", "./dot.png", "trailing.png/");

  @Test
  void everyKeyOfAnS3BucketIsBackedUpAndRestoredToABucketExactlyAndToADirectoryByPolicy() throws Exception {
    S3Client client = S3Store.client(server.endpoint(), server.region(), server.accessKey(), server.secretKey());
    String app = server.createBucket("odd");
    List<String> corpus = CORPUS.stream().filter(k -> !BEYOND_THE_LOCAL_SERVER.contains(k)).toList();
    for (String key : corpus) {
      client.putObject(r -> r.bucket(app).key("uploads/" + key), RequestBody.fromString(content(key)));
    }
    S3Store uploads = S3Store.builder(client, app).prefix("uploads/").build();
    assertThat(uploads.list("")).extracting(ObjectInfo::key).containsExactlyInAnyOrderElementsOf(corpus);
    roundTrip(uploads, corpus, new Repository(S3Store.builder(client, server.createBucket("repo")).build()),
        S3Store.builder(client, server.createBucket("restored")).prefix("r/").build());
    roundTrip(uploads, corpus, new Repository(new FilesystemStore(tmp.resolve("file-repo"))),
        S3Store.builder(client, server.createBucket("restored")).prefix("r/").build());
  }

  @Test
  void everyKeyS3AcceptsIsBackedUpIntoAFilesystemRepositoryAndRestoredExactly() throws Exception {
    dev.savepoint.core.store.InMemoryStore bucket = new dev.savepoint.core.store.InMemoryStore();
    for (String key : CORPUS) {
      bucket.put(key, dev.savepoint.core.store.ByteSource.wrap(content(key).getBytes(StandardCharsets.UTF_8)));
    }
    roundTrip(bucket, CORPUS, new Repository(new FilesystemStore(tmp.resolve("file-repo"))),
        new dev.savepoint.core.store.InMemoryStore());
  }

  static String content(String key) {
    return key.equals("empty.bin") ? "" : "content of " + key;
  }

  void roundTrip(dev.savepoint.core.store.Store bucket, List<String> corpus, Repository repo, dev.savepoint.core.store.Store restored)
      throws Exception {
    Manifest m = BackupPlan.builder("uploads").source(BucketSource.of(bucket)).transform(Transforms.zstd())
        .repository(repo).build().run().manifest();
    assertThat(m.source().facts()).containsEntry("objectCount", corpus.size());

    // To a bucket: the original keys, byte for byte.
    repo.restore(m, new BucketTarget(restored), Secrets.none());
    assertThat(restored.list("")).extracting(ObjectInfo::key).containsExactlyInAnyOrderElementsOf(corpus);
    for (String key : corpus) {
      try (var in = restored.get(key)) {
        assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).as(key).isEqualTo(content(key));
      }
    }

    boolean unsafe = corpus.contains("./dot.png");
    if (!unsafe) { // Every key is a safe path: the directory gets them all, under their own names.
      Path dir = tmp.resolve("plain-" + System.nanoTime());
      repo.restore(m, new FilesTarget(dir, BucketSource.ARTIFACT_PREFIX), Secrets.none());
      for (String key : corpus) {
        assertThat(Files.readString(dir.resolve(key))).as(key).isEqualTo(content(key));
      }
      return;
    }
    // To a directory: refused as a whole by default, naming the keys; nothing written anywhere.
    Path refused = tmp.resolve("refused-" + System.nanoTime());
    assertThatThrownBy(() -> repo.restore(m, new FilesTarget(refused, BucketSource.ARTIFACT_PREFIX), Secrets.none()))
        .isInstanceOf(RestoreException.class).hasMessageContaining("'./dot.png'")
        .hasMessageContaining("nothing was written");
    assertThat(refused).doesNotExist();

    // Or escaped, with an index of the original keys; never outside the target.
    Path dir = tmp.resolve("escaped-" + System.nanoTime());
    repo.restore(m, new FilesTarget(dir, BucketSource.ARTIFACT_PREFIX, FilesTarget.UnsafeKeys.ESCAPE), Secrets.none());
    for (String key : List.of("a b.png", "日本語/ファイル.png", "\u30CF\u309A.png", "\u30D1.png", "case.png", "Case.png",
        "folder")) {
      assertThat(Files.readString(dir.resolve(key))).as(key).isEqualTo(content(key));
    }
    Map<?, ?> index = new com.fasterxml.jackson.databind.ObjectMapper().readValue(
        dir.resolve(FilesTarget.UNSAFE_DIR).resolve("index.json").toFile(), Map.class);
    assertThat(index.values()).extracting(Object::toString).containsExactlyInAnyOrder("./dot.png",
        "x/../../../escape.txt", "/leading.png", "double//slash.png", "trailing.png/", "L".repeat(900) + ".png",
        "folder/inside.png");
    for (Map.Entry<?, ?> e : index.entrySet()) {
      assertThat(Files.readString(dir.resolve(FilesTarget.UNSAFE_DIR).resolve(e.getKey().toString())))
          .isEqualTo(content(e.getValue().toString()));
    }
    try (Stream<Path> files = Files.walk(tmp)) {
      assertThat(files.map(p -> p.getFileName().toString()).collect(Collectors.toSet())).doesNotContain("escape.txt");
    }
  }

  @Test
  void anUnreadableObjectFailsLoudlyOrIsRecordedAsSkipped() throws Exception {
    dev.savepoint.core.store.InMemoryStore bucket = new dev.savepoint.core.store.InMemoryStore();
    bucket.put("a.png", dev.savepoint.core.store.ByteSource.wrap(new byte[] {1}));
    bucket.put("gone.png", dev.savepoint.core.store.ByteSource.wrap(new byte[] {2}));
    // Deleted between listing and reading, as on a busy bucket.
    dev.savepoint.core.store.Store vanishing = new dev.savepoint.core.store.ForwardingStore(bucket) {
      @Override
      public java.io.InputStream get(String key, long offset, long length) throws java.io.IOException {
        if (key.equals("gone.png")) {
          throw new dev.savepoint.core.ObjectNotFoundException(key);
        }
        return super.get(key, offset, length);
      }
    };
    Repository repo = new Repository(new FilesystemStore(tmp.resolve("repo")));
    assertThatThrownBy(() -> BackupPlan.builder("uploads").source(BucketSource.of(vanishing)).repository(repo).build().run())
        .hasMessageContaining("object 'gone.png'").hasMessageContaining("skipUnreadable");
    assertThat(repo.list("uploads")).isEmpty();
    Manifest m = BackupPlan.builder("uploads").source(BucketSource.of(vanishing).skipUnreadable()).repository(repo)
        .build().run().manifest();
    assertThat(m.source().facts()).containsEntry("objectCount", 1).containsKey("skippedObjects");
    assertThat(((Map<?, ?>) m.source().facts().get("skippedObjects")).keySet().toString()).isEqualTo("[gone.png]");
  }
}
