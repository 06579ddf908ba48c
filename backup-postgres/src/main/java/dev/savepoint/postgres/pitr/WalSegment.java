package dev.savepoint.postgres.pitr;

import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * A WAL segment's identity, named as PostgreSQL names it: {@code %08X%08X%08X} = timeline, then the segment
 * number split into "log" and "seg" by the segment size. Immutable.
 */
public record WalSegment(int timeline, long number, long size) implements Comparable<WalSegment> {
  private static final Pattern NAME = Pattern.compile("([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})");

  public WalSegment {
    if (size < (1 << 20) || Long.bitCount(size) != 1) {
      throw new IllegalArgumentException("WAL segment size must be a power of two of at least 1 MiB, was " + size);
    }
  }

  /** The segment holding {@code lsn} on {@code timeline}. */
  public static WalSegment containing(int timeline, long lsn, long size) {
    return new WalSegment(timeline, Long.divideUnsigned(lsn, size), size);
  }

  /**
   * The names PostgreSQL gives the files it archives, and the only ones Savepoint stores or reads back: a segment
   * ({@code 24 hex digits}), a partial segment ({@code .partial}), a timeline history ({@code 8 hex digits.history})
   * and a backup history file ({@code segment.8 hex digits.backup}). Anything else read from a repository is never
   * made into a path.
   */
  private static final Pattern FILE_NAME =
      Pattern.compile("[0-9A-F]{24}(?:\\.partial|\\.[0-9A-F]{8}\\.backup)?|[0-9A-F]{8}\\.history");

  /** Whether {@code name} is a WAL file name (see {@link #FILE_NAME}). */
  public static boolean isFileName(String name) {
    return name != null && FILE_NAME.matcher(name).matches();
  }

  /** Parses a segment file name (without suffix), or returns null if {@code name} is not one. */
  public static @Nullable WalSegment parse(String name, long size) {
    Matcher m = NAME.matcher(name);
    if (!m.matches()) {
      return null;
    }
    long perLog = 0x1_0000_0000L / size;
    return new WalSegment(Integer.parseUnsignedInt(m.group(1), 16),
        Long.parseLong(m.group(2), 16) * perLog + Long.parseLong(m.group(3), 16), size);
  }

  public String name() {
    long perLog = 0x1_0000_0000L / size;
    return String.format("%08X%08X%08X", timeline, number / perLog, number % perLog);
  }

  public long startLsn() {
    return number * size;
  }

  public long endLsn() {
    return (number + 1) * size;
  }

  public WalSegment next() {
    return new WalSegment(timeline, number + 1, size);
  }

  /** {@code X/X}, as PostgreSQL prints an LSN. */
  public static String lsn(long lsn) {
    return String.format("%X/%X", lsn >>> 32, lsn & 0xffffffffL);
  }

  /** Parses {@code X/X}. */
  public static long parseLsn(String text) {
    String[] parts = text.strip().split("/");
    return (Long.parseLong(parts[0], 16) << 32) | Long.parseLong(parts[1], 16);
  }

  @Override
  public int compareTo(WalSegment o) {
    return timeline != o.timeline ? Integer.compare(timeline, o.timeline) : Long.compare(number, o.number);
  }

  @Override
  public String toString() {
    return name();
  }
}
