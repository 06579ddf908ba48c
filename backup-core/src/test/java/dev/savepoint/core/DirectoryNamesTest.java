package dev.savepoint.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.savepoint.core.internal.RawPaths;
import dev.savepoint.core.sources.BucketSource;
import dev.savepoint.core.sources.DirectorySource;
import dev.savepoint.core.sources.DirectoryTarget;
import dev.savepoint.core.store.FilesystemStore;
import dev.savepoint.core.store.InMemoryStore;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * File names are byte strings on Linux. Names that are not UTF-8 (which Java shows with U+FFFD, so that
 * different files look alike) and long paths are backed up and restored with their exact bytes.
 */
class DirectoryNamesTest {
  @TempDir
  Path tmp;

  final InMemoryStore store = new InMemoryStore();
  final Repository repo = new Repository(store);

  static byte[] latin1(String s) {
    return s.getBytes(StandardCharsets.ISO_8859_1);
  }

  @Test
  void namesThatAreNotUtf8RoundTripByteForByte() throws IOException, InterruptedException {
    Path src = Files.createDirectories(tmp.resolve("uploads"));
    // Two names Java prints alike ("caf\uFFFD.txt"): a lossy name would merge them.
    Files.writeString(RawPaths.resolve(src, latin1("caf\u00e9.txt")), "acute");
    Files.writeString(RawPaths.resolve(src, latin1("caf\u00e8.txt")), "grave");
    Path odd = Files.createDirectory(RawPaths.resolve(src, latin1("d\u00ffir")));
    Files.writeString(RawPaths.resolve(odd, latin1("inner\u00fe")), "inside");
    Files.createSymbolicLink(src.resolve("link"), RawPaths.path(latin1("caf\u00e9.txt")));
    Files.writeString(src.resolve("caf%E9.txt"), "a UTF-8 name that looks like an escaped one");
    Files.writeString(src.resolve("日本語.txt"), "utf-8");
    Path deep = src;
    for (int i = 0; i < 5; i++) {
      deep = Files.createDirectory(deep.resolve("長".repeat(60) + i)); // 181 bytes per name
    }
    Files.writeString(deep.resolve("d".repeat(255)), "a path of more than 1,000 bytes");

    Manifest m = BackupPlan.builder("files").source(new DirectorySource(src)).repository(repo)
        .transform(Transforms.gzip()).build().run().manifest();
    assertThat(m.source().facts()).containsEntry("files", 6L).containsEntry("escapedNames", 5L);

    Path dest = tmp.resolve("restored");
    repo.restore(m, DirectoryTarget.of(dest), Secrets.none());
    assertThat(tree(dest)).isEqualTo(tree(src)).hasSize(13);
    assertThat(RawPaths.bytes(Files.readSymbolicLink(dest.resolve("link")))).isEqualTo(latin1("caf\u00e9.txt"));

    // Without Savepoint, tar extracts the same files under readable escaped names.
    Path stored = tmp.resolve("files.tar.gz");
    try (InputStream in = store.get(m.artifacts().get(0).key())) {
      Files.copy(in, stored);
    }
    Process tar = new ProcessBuilder("tar", "-tzf", stored.toString()).redirectErrorStream(true).start();
    String listing = new String(tar.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(tar.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(listing).contains("caf%E9.txt", "caf%E8.txt", "d%FFir/inner%FE", "日本語.txt");
  }

  @Test
  void aFolderReadAsABucketFailsLoudlyOnANameNoKeyCanHold() throws IOException {
    Path folder = Files.createDirectories(tmp.resolve("bucket"));
    Files.writeString(folder.resolve("ok.txt"), "fine");
    Files.writeString(RawPaths.resolve(folder, latin1("caf\u00e9.txt")), "acute");
    assertThatThrownBy(() -> BackupPlan.builder("bucket").source(BucketSource.of(new FilesystemStore(folder)))
        .repository(repo).build().run())
        .isInstanceOf(StoreException.class).hasMessageContaining("'caf%E9.txt'").hasMessageContaining("not UTF-8");
    assertThat(repo.list("bucket")).isEmpty();
  }

  @Test
  void anExactNameThatLeavesTheTargetIsRefused() throws IOException {
    for (String raw : new String[] {"../../evil", "a/../../evil", "nul%00byte"}) {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      try (TarArchiveOutputStream out = new TarArchiveOutputStream(bytes)) {
        TarArchiveEntry entry = new TarArchiveEntry("harmless.txt");
        entry.addPaxHeader("SAVEPOINT.rawpath", raw);
        entry.setSize(3);
        out.putArchiveEntry(entry);
        out.write(new byte[] {1, 2, 3});
        out.closeArchiveEntry();
      }
      Manifest m = BackupPlan.builder("evil").source(new Source() {
        @Override
        public String type() {
          return "directory";
        }

        @Override
        public Map<String, Object> backup(ArtifactWriter writer) throws IOException {
          try (OutputStream out = writer.open(DirectorySource.ARTIFACT)) {
            out.write(bytes.toByteArray());
          }
          return Map.of();
        }
      }).repository(repo).build().run().manifest();
      Path dest = tmp.resolve("d/e/target");
      assertThatThrownBy(() -> repo.restore(m, DirectoryTarget.of(dest), Secrets.none()))
          .as(raw).isInstanceOf(IntegrityException.class).hasMessageContaining("outside");
      assertThat(tmp.resolve("d/evil")).doesNotExist();
      assertThat(tmp.resolve("evil")).doesNotExist();
      assertThat(dest).doesNotExist();
    }
  }

  /** Every entry under {@code root} by its exact, percent-encoded name: content, link target or "dir". */
  private static Map<String, String> tree(Path root) throws IOException {
    Map<String, String> entries = new TreeMap<>();
    Files.walkFileTree(root, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
        if (!dir.equals(root)) {
          entries.put(name(dir), "dir");
        }
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
        entries.put(name(file), attrs.isSymbolicLink()
            ? "-> " + RawPaths.percentEncode(RawPaths.bytes(Files.readSymbolicLink(file)))
            : Files.readString(file));
        return FileVisitResult.CONTINUE;
      }

      private String name(Path p) {
        return RawPaths.percentEncode(RawPaths.bytes(root.relativize(p)));
      }
    });
    return entries;
  }
}
