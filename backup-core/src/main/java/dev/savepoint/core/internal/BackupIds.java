package dev.savepoint.core.internal;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;

/**
 * Backup ids sort by time as plain strings: {@code 20261128T221530.123Z-3fa2} (UTC start time to the
 * millisecond, then random hex so two backups in one millisecond differ).
 */
public final class BackupIds {
  private static final DateTimeFormatter FORMAT =
      DateTimeFormatter.ofPattern("uuuuMMdd'T'HHmmss.SSS'Z'").withZone(ZoneOffset.UTC);
  private static final Pattern ID = Pattern.compile("\\d{8}T\\d{6}\\.\\d{3}Z-[0-9a-f]{4}");
  private static final Pattern PLAN = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,99}");

  private BackupIds() {}

  public static String newId(Instant start) {
    return FORMAT.format(start) + "-" + String.format("%04x", ThreadLocalRandom.current().nextInt(0x10000));
  }

  /** The start time encoded in a backup id. */
  public static Instant startTime(String id) {
    return FORMAT.parse(id.substring(0, id.indexOf('-')), Instant::from);
  }

  public static boolean isId(String s) {
    return ID.matcher(s).matches();
  }

  public static boolean isValidPlan(String name) {
    return name != null && PLAN.matcher(name).matches();
  }

  public static String requireValidPlan(String plan) {
    if (plan == null || !PLAN.matcher(plan).matches()) {
      throw new IllegalArgumentException("invalid plan name '" + plan
          + "': use letters, digits, '.', '_' and '-', starting with a letter or digit");
    }
    return plan;
  }
}
