package dev.savepoint.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.savepoint.core.store.InMemoryStore;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Artifacts small enough to be stored by the closing thread and larger ones that start the encode and upload
 * stages on the way — around the boundary (64 KiB), written in odd pieces and byte by byte — are recorded and
 * restored exactly; a source failing with both kinds open leaves nothing of the backup behind.
 */
class ArtifactSizesTest {
  static final int[] SIZES = {0, 1, 65_535, 65_536, 65_537, 70_000, 300_001};
  final InMemoryStore store = new InMemoryStore();
  final Repository repository = new Repository(store);

  static byte[] data(int size) {
    byte[] b = new byte[size];
    Random r = new Random(size);
    for (int i = 0; i < size; i++) {
      b[i] = (byte) ('a' + r.nextInt(6)); // compresses, but not to nothing
    }
    return b;
  }

  /** Writes {@code raw} in pieces of 1, 7 and 8,191 bytes, byte-wise writes included. */
  static void write(OutputStream out, byte[] raw) throws IOException {
    int[] pieces = {1, 7, 8_191};
    for (int off = 0, i = 0; off < raw.length; i++) {
      int n = Math.min(pieces[i % pieces.length], raw.length - off);
      if (n == 1) {
        out.write(raw[off]);
      } else {
        out.write(raw, off, n);
      }
      off += n;
    }
  }

  static String sha256(byte[] b) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
  }

  @Test
  void everySizeIsRecordedAndRestoredExactly() throws Exception {
    Source source = new Source() {
      @Override
      public String type() {
        return "sizes";
      }

      @Override
      public Map<String, Object> backup(ArtifactWriter writer) throws IOException {
        for (int size : SIZES) {
          OutputStream out = writer.open("a" + size);
          write(out, data(size));
          out.close();
          assertThatThrownBy(() -> out.write(1)).as("written after close").isInstanceOf(IOException.class);
        }
        return Map.of();
      }
    };
    Manifest m = BackupPlan.builder("sizes").source(source).transform(Transforms.zstd(3, 0))
        .transform(Transforms.gzip(1)).repository(repository).build().run().manifest();

    assertThat(m.artifacts()).hasSize(SIZES.length);
    for (int i = 0; i < SIZES.length; i++) {
      ArtifactRecord a = m.artifacts().get(i);
      byte[] raw = data(SIZES[i]);
      assertThat(a.name()).isEqualTo("a" + SIZES[i]);
      assertThat(a.rawBytes()).isEqualTo(raw.length);
      assertThat(a.rawSha256()).as(a.name()).isEqualTo(sha256(raw));
      byte[] stored;
      try (InputStream in = store.get(a.key())) {
        stored = in.readAllBytes();
      }
      assertThat(a.storedBytes()).as(a.name()).isEqualTo(stored.length);
      assertThat(a.storedSha256()).as(a.name()).isEqualTo(sha256(stored));
      try (InputStream in = repository.openRaw(a, Secrets.none())) {
        assertThat(in.readAllBytes()).as(a.name()).isEqualTo(raw);
      }
    }
  }

  @Test
  void aSourceFailingWithSmallAndLargeArtifactsOpenLeavesNothing() throws Exception {
    Map<String, OutputStream> open = new LinkedHashMap<>();
    Source failing = new Source() {
      @Override
      public String type() {
        return "failing";
      }

      @Override
      public Map<String, Object> backup(ArtifactWriter writer) throws IOException {
        try (OutputStream small = writer.open("small")) {
          write(small, data(1_000)); // stored whole by this thread
        }
        OutputStream held = writer.open("held");
        write(held, data(10_000)); // still held, never closed
        open.put("held", held);
        OutputStream streaming = writer.open("streaming");
        write(streaming, data(200_000)); // the stages run
        open.put("streaming", streaming);
        throw new SourceException("the source broke");
      }
    };
    BackupPlan plan = BackupPlan.builder("failing").source(failing).transform(Transforms.zstd(3, 0))
        .repository(repository).build();

    assertThatThrownBy(plan::run).isInstanceOf(SourceException.class).hasMessageContaining("the source broke");
    assertThat(store.list("")).as("nothing of the failed backup").isEmpty();
    assertThatThrownBy(() -> open.get("held").close()).as("an aborted small artifact is not stored later")
        .isInstanceOf(IOException.class);
    assertThat(store.list("")).isEmpty();
  }
}
