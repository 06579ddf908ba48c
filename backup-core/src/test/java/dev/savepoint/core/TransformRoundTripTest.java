package dev.savepoint.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Arrays;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class TransformRoundTripTest {

  static Stream<Arguments> cases() {
    int[] sizes = {0, 1, 65_535, 3 * 1024 * 1024 + 17};
    Transform[] transforms = {Transforms.gzip(1), Transforms.gzip(9), Transforms.zstd(1, 0), Transforms.zstd(19, 0),
        Transforms.zstd(3, 2)};
    return Arrays.stream(transforms).flatMap(t -> Arrays.stream(sizes).mapToObj(s -> Arguments.of(t, s)));
  }

  static byte[] data(int size, long seed) {
    // Half random, half repetitive: exercises both compressible and incompressible paths.
    byte[] b = new byte[size];
    Random r = new Random(seed);
    for (int i = 0; i < size; i++) {
      b[i] = (i / 4096) % 2 == 0 ? (byte) r.nextInt() : (byte) ('a' + i % 7);
    }
    return b;
  }

  static byte[] encode(Transform t, byte[] raw) throws IOException {
    ByteArrayOutputStream stored = new ByteArrayOutputStream();
    try (OutputStream out = t.wrap(stored)) {
      // Write in odd-sized pieces to cross buffer boundaries.
      for (int off = 0; off < raw.length; off += 7919) {
        out.write(raw, off, Math.min(7919, raw.length - off));
      }
    }
    return stored.toByteArray();
  }

  @ParameterizedTest(name = "{0} {1} bytes")
  @MethodSource("cases")
  void roundTripThroughRecordedSpec(Transform t, int size) throws IOException {
    byte[] raw = data(size, size);
    byte[] stored = encode(t, raw);
    Transform inverse = Transforms.restore(t.spec(), Secrets.none());
    try (InputStream in = inverse.unwrap(new ByteArrayInputStream(stored))) {
      assertThat(in.readAllBytes()).isEqualTo(raw);
    }
  }

  @ParameterizedTest(name = "{0} {1} bytes")
  @MethodSource("cases")
  void truncatedStreamIsAnErrorNotAShortRead(Transform t, int size) throws IOException {
    byte[] stored = encode(t, data(size, 99));
    byte[] truncated = Arrays.copyOf(stored, stored.length - 1);
    assertThatThrownBy(() -> {
      try (InputStream in = t.unwrap(new ByteArrayInputStream(truncated))) {
        in.readAllBytes();
      }
    }).isInstanceOf(IOException.class);
  }

  @org.junit.jupiter.api.Test
  void unknownTransformNamesTheModuleToAdd() {
    assertThatThrownBy(() -> Transforms.restore(new TransformSpec("rot13", null), Secrets.none()))
        .isInstanceOf(UnsupportedFormatException.class).hasMessageContaining("rot13");
  }

  @org.junit.jupiter.api.Test
  void invalidLevelsAreRefused() {
    assertThatThrownBy(() -> Transforms.gzip(0)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Transforms.zstd(23, 0)).isInstanceOf(IllegalArgumentException.class);
  }
}
