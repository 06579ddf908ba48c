package dev.savepoint.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.savepoint.core.sources.BucketSource;
import dev.savepoint.core.sources.FilesTarget;
import dev.savepoint.core.store.ByteSource;
import dev.savepoint.core.store.InMemoryStore;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A bucket restored to a directory: a key that lies beneath another key ("a" and "a/b") or is no path by its shape
 * is escaped (or refused), found in one pass over the sorted index without every key in memory — including keys
 * that sort between a key and the keys beneath it ("a-b", "a!/x" come after "a" and before "a/b").
 */
class FilesTargetUnsafePathsTest {
  @TempDir
  Path tmp;

  static final List<String> SAFE = List.of("a", "a-b", "a!/x", "a.b/c", "ab", "c/d", "c/d-e/f", "z");
  static final List<String> BENEATH_A_KEY_OR_NO_PATH = List.of("a/b", "a/b/c", "c/d/e", "x/../y", "a!/x/y/..");

  @Test
  void keysBeneathOtherKeysAreFoundInOneSortedPass() throws Exception {
    InMemoryStore bucket = new InMemoryStore();
    for (String key : concat(SAFE, BENEATH_A_KEY_OR_NO_PATH)) {
      bucket.put(key, ByteSource.wrap(("content of " + key).getBytes(StandardCharsets.UTF_8)));
    }
    Repository repo = new Repository(new InMemoryStore());
    Manifest m = BackupPlan.builder("uploads").source(BucketSource.of(bucket)).repository(repo).build().run()
        .manifest();

    assertThatThrownBy(() -> repo.restore(m, new FilesTarget(tmp.resolve("refused"), BucketSource.ARTIFACT_PREFIX),
        Secrets.none())).isInstanceOf(RestoreException.class).hasMessageStartingWith("5 key(s)");

    Path dir = tmp.resolve("escaped");
    repo.restore(m, new FilesTarget(dir, BucketSource.ARTIFACT_PREFIX, FilesTarget.UnsafeKeys.ESCAPE), Secrets.none());
    for (String key : SAFE) {
      assertThat(Files.readString(dir.resolve(key))).isEqualTo("content of " + key);
    }
    Map<String, String> escaped = new com.fasterxml.jackson.databind.ObjectMapper().readValue(
        dir.resolve(FilesTarget.UNSAFE_DIR).resolve("index.json").toFile(),
        new com.fasterxml.jackson.core.type.TypeReference<Map<String, String>>() {});
    assertThat(escaped.values()).containsExactlyInAnyOrderElementsOf(BENEATH_A_KEY_OR_NO_PATH);
  }

  private static List<String> concat(List<String> a, List<String> b) {
    return java.util.stream.Stream.concat(a.stream(), b.stream()).toList();
  }
}
