package dev.savepoint.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.savepoint.core.store.ByteSource;
import dev.savepoint.core.store.FilesystemStore;
import dev.savepoint.core.store.ObjectInfo;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Someone who can write into a filesystem repository plants symbolic links: the store never reads or writes
 * through one. A linked directory is refused by name; a linked file is refused when read and replaced (not
 * followed) when written.
 */
class FilesystemStoreLinksTest {
  @TempDir
  Path tmp;

  @Test
  void aLinkedDirectoryIsNeverWrittenOrReadThrough() throws Exception {
    Path outside = Files.createDirectories(tmp.resolve("outside"));
    Files.writeString(outside.resolve("secret"), "outside");
    FilesystemStore store = new FilesystemStore(tmp.resolve("repo"));
    Files.createSymbolicLink(tmp.resolve("repo/plan"), outside);

    assertThatThrownBy(() -> store.put("plan/id/manifest.json", ByteSource.wrap(new byte[] {1})))
        .isInstanceOf(StoreException.class).hasMessageContaining("'plan'").hasMessageContaining("symbolic link");
    assertThat(outside.resolve("id")).as("nothing created through the link").doesNotExist();
    assertThatThrownBy(() -> store.get("plan/secret")).isInstanceOf(StoreException.class)
        .hasMessageContaining("symbolic link");
    assertThatThrownBy(() -> store.stat("plan/secret")).isInstanceOf(StoreException.class);
    assertThat(store.list("plan/")).isEmpty();
    assertThat(store.list("")).isEmpty();
    java.io.PrintStream err = System.err;
    java.io.ByteArrayOutputStream logged = new java.io.ByteArrayOutputStream();
    System.setErr(new java.io.PrintStream(logged, true, StandardCharsets.UTF_8));
    try {
      assertThat(store.folders("")).as("a linked plan is not followed").isEmpty();
    } finally {
      System.setErr(err);
    }
    assertThat(logged.toString(StandardCharsets.UTF_8)).as("but named, so an empty listing is explained")
        .contains("'plan'", "symbolic link to a directory");
    assertThat(Files.readString(outside.resolve("secret"))).isEqualTo("outside");
    assertThat(Files.list(tmp.resolve("repo/.savepoint-tmp"))).as("no temporary file left").isEmpty();
  }

  @Test
  void aLinkedFileIsRefusedWhenReadAndReplacedWhenWritten() throws Exception {
    Path secret = Files.writeString(tmp.resolve("secret"), "outside");
    FilesystemStore store = new FilesystemStore(tmp.resolve("repo"));
    store.put("plan/id/other", ByteSource.wrap(new byte[] {1}));
    Path link = Files.createSymbolicLink(tmp.resolve("repo/plan/id/artifact"), secret);

    assertThatThrownBy(() -> store.get("plan/id/artifact")).isInstanceOf(StoreException.class)
        .hasMessageContaining("symbolic link");
    assertThat(store.stat("plan/id/artifact")).as("a link is no object").isEmpty();
    assertThat(store.list("plan/")).extracting(ObjectInfo::key).containsExactly("plan/id/other");

    store.put("plan/id/artifact", ByteSource.wrap("inside".getBytes(StandardCharsets.UTF_8)));
    assertThat(Files.isSymbolicLink(link)).as("the link was replaced").isFalse();
    assertThat(Files.readString(secret)).as("not written through").isEqualTo("outside");
    try (var in = store.get("plan/id/artifact")) {
      assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("inside");
    }
  }
}
