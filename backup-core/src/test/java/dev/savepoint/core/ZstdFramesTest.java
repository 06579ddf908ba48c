package dev.savepoint.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.github.luben.zstd.ZstdInputStream;
import com.github.luben.zstd.ZstdOutputStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The zstd transform writes ordinary frames: the {@code zstd} tool and zstd-jni's own streams (which wrote earlier
 * backups) read them, and it reads theirs, several frames in a row included. Damage is an error, never other bytes.
 */
class ZstdFramesTest {
  private static final byte[] RAW = TransformRoundTripTest.data(1_000_003, 7);

  @TempDir
  Path tmp;

  @Test
  void theZstdToolAndZstdJniStreamsReadWhatItWrites() throws Exception {
    byte[] stored = TransformRoundTripTest.encode(Transforms.zstd(3, 0), RAW);
    try (InputStream in = new ZstdInputStream(new ByteArrayInputStream(stored))) {
      assertThat(in.readAllBytes()).isEqualTo(RAW);
    }
    Path file = Files.write(tmp.resolve("a.zst"), stored);
    Process p = new ProcessBuilder("zstd", "-d", "-c", "-q", file.toString()).start();
    byte[] out = p.getInputStream().readAllBytes();
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).isZero();
    assertThat(out).isEqualTo(RAW);
  }

  @Test
  void itReadsEarlierBackupsAndConcatenatedFrames() throws Exception {
    ByteArrayOutputStream older = new ByteArrayOutputStream();
    for (int half = 0; half < 2; half++) {
      try (OutputStream out = new ZstdOutputStream(new NonClosing(older), 3)) {
        out.write(RAW, half * 500_000, half == 0 ? 500_000 : RAW.length - 500_000);
      }
    }
    try (InputStream in = unwrap(older.toByteArray())) {
      assertThat(in.readAllBytes()).isEqualTo(RAW);
    }
  }

  @Test
  void aFlippedByteIsAnErrorNotOtherData() throws Exception {
    byte[] stored = TransformRoundTripTest.encode(Transforms.zstd(3, 0), RAW);
    for (int at : new int[] {stored.length / 2, stored.length - 2}) {
      byte[] damaged = stored.clone();
      damaged[at] ^= 0x10;
      assertThatThrownBy(() -> unwrap(damaged).readAllBytes()).isInstanceOf(IOException.class)
          .hasMessageContaining("zstd");
    }
  }

  @Test
  void somethingElseEntirelyOrNothingIsAnError() {
    assertThatThrownBy(() -> unwrap("not zstd at all".getBytes()).readAllBytes()).isInstanceOf(IOException.class);
    assertThatThrownBy(() -> unwrap(new byte[0]).readAllBytes()).isInstanceOf(IOException.class)
        .hasMessageContaining("truncated");
  }

  @Test
  void writingAfterCloseIsRefusedAndCloseClosesDownstream() throws IOException {
    boolean[] closed = {false};
    OutputStream downstream = new ByteArrayOutputStream() {
      @Override
      public void close() {
        closed[0] = true;
      }
    };
    OutputStream out = Transforms.zstd(3, 0).wrap(downstream);
    out.write(1);
    out.close();
    out.close();
    assertThat(closed[0]).isTrue();
    assertThatThrownBy(() -> out.write(2)).isInstanceOf(IOException.class);
  }

  private static InputStream unwrap(byte[] stored) throws IOException {
    return Transforms.zstd(3, 0).unwrap(new ByteArrayInputStream(stored));
  }

  private static final class NonClosing extends java.io.FilterOutputStream {
    NonClosing(OutputStream out) {
      super(out);
    }

    @Override
    public void close() throws IOException {
      flush();
    }
  }

  /**
   * Contexts are reused across artifacts; one whose stream failed mid-frame must not be: the next artifact would
   * continue the broken frame. More streams than contexts kept follow the failure, so one of them would get it.
   */
  @Test
  void aStreamThatFailedMidFrameLeavesNothingToTheNextArtifact() throws Exception {
    Transform zstd = Transforms.zstd(4, 0);
    OutputStream failing = zstd.wrap(new OutputStream() {
      @Override
      public void write(int b) throws IOException {
        throw new IOException("downstream gone");
      }

      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        throw new IOException("downstream gone");
      }
    });
    // Just under a block of incompressible bytes: held until the end, whose output is more than one buffer, so
    // the downstream fails while zstd still holds the rest of the frame.
    byte[] random = new byte[128 * 1024 - 1];
    new java.util.Random(3).nextBytes(random);
    assertThatThrownBy(() -> {
      try (failing) {
        failing.write(random);
      }
    }).isInstanceOf(IOException.class).hasMessageContaining("downstream gone");
    for (int i = 0; i < 20; i++) {
      byte[] raw = TransformRoundTripTest.data(10_000 + i, i);
      byte[] stored = TransformRoundTripTest.encode(zstd, raw);
      try (InputStream in = new ZstdInputStream(new ByteArrayInputStream(stored))) {
        assertThat(in.readAllBytes()).as("artifact %d after the failure", i).isEqualTo(raw);
      }
    }
  }
}
