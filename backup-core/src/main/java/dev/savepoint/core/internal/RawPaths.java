package dev.savepoint.core.internal;

import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * File names as the bytes the filesystem holds. On Linux a file name is any byte string; Java decodes it with
 * the platform's name encoding, so a name that is not valid UTF-8 (or any non-ASCII name in a JVM started
 * under the C locale) turns into U+FFFD or '?' in {@link Path#toString()} — and two different files can get
 * the same string. A {@code file:} URI keeps the bytes (percent-encoded), in both directions, so the exact
 * name is read and written through it.
 */
public final class RawPaths {
  private static final String UNRESERVED =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~/";

  private RawPaths() {}

  /** The bytes of {@code path} as the filesystem holds them (relative paths stay relative). */
  public static byte[] bytes(Path path) {
    if (!posix(path)) {
      return path.toString().replace(path.getFileSystem().getSeparator(), "/").getBytes(StandardCharsets.UTF_8);
    }
    boolean relative = !path.isAbsolute();
    Path absolute = relative ? path.getFileSystem().getPath("/").resolve(path) : path;
    String raw = absolute.toUri().getRawPath();
    if (raw.length() > 1 && raw.endsWith("/")) {
      raw = raw.substring(0, raw.length() - 1); // toUri marks directories with a slash; a Path never has one
    }
    byte[] bytes = percentDecode(raw);
    return relative ? Arrays.copyOfRange(bytes, 1, bytes.length) : bytes;
  }

  /** A path (absolute or relative) whose name is exactly {@code bytes} on the default filesystem. */
  public static Path path(byte[] bytes) {
    if (bytes.length > 0 && bytes[0] == '/') {
      return Path.of(URI.create("file://" + percentEncode(bytes)));
    }
    // Name by name: Path.relativize would normalize ".." away, and this path must stay what the bytes say.
    Path result = Path.of("");
    int start = 0;
    for (int i = 0; i <= bytes.length; i++) {
      if (i == bytes.length || bytes[i] == '/') {
        if (i > start) {
          byte[] name = Arrays.copyOfRange(bytes, start, i);
          result = result.resolve(Path.of(URI.create("file:///" + percentEncode(name))).getFileName());
        }
        start = i + 1;
      }
    }
    return result;
  }

  /** {@code base} resolved with {@code relative}, given as filesystem bytes. */
  public static Path resolve(Path base, byte[] relative) {
    return posix(base)
        ? base.resolve(path(relative))
        : base.resolve(new String(relative, StandardCharsets.UTF_8));
  }

  /** The default filesystem of a POSIX system, where {@code file:} URIs carry a name's bytes. */
  private static boolean posix(Path path) {
    return path.getFileSystem() == FileSystems.getDefault() && "/".equals(path.getFileSystem().getSeparator());
  }

  /** The bytes as UTF-8 text, or null when they are not valid UTF-8. */
  public static String utf8(byte[] bytes) {
    try {
      return StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes)).toString();
    } catch (CharacterCodingException e) {
      return null;
    }
  }

  /** Every byte outside letters, digits and {@code -._~/} as {@code %XX}: ASCII, exact and reversible. */
  public static String percentEncode(byte[] bytes) {
    StringBuilder out = new StringBuilder(bytes.length + 16);
    for (byte b : bytes) {
      int c = b & 0xff;
      if (c < 0x80 && UNRESERVED.indexOf(c) >= 0) {
        out.append((char) c);
      } else {
        out.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
            .append(Character.toUpperCase(Character.forDigit(c & 0xf, 16)));
      }
    }
    return out.toString();
  }

  /** The inverse of {@link #percentEncode}; other characters are taken as their UTF-8 bytes. */
  public static byte[] percentDecode(String text) {
    ByteBuffer out = ByteBuffer.allocate(text.length() * 4);
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c == '%' && i + 2 < text.length()
          && Character.digit(text.charAt(i + 1), 16) >= 0 && Character.digit(text.charAt(i + 2), 16) >= 0) {
        out.put((byte) (Character.digit(text.charAt(i + 1), 16) << 4 | Character.digit(text.charAt(i + 2), 16)));
        i += 2;
      } else if (c < 0x80) {
        out.put((byte) c);
      } else {
        int end = Character.isHighSurrogate(c) && i + 1 < text.length() ? i + 2 : i + 1;
        out.put(text.substring(i, end).getBytes(StandardCharsets.UTF_8));
        i = end - 1;
      }
    }
    return Arrays.copyOf(out.array(), out.position());
  }
}
