package dev.savepoint.core.internal;

/** Validation and order of store keys, shared by every store so they all refuse the same things. */
public final class Keys {
  private Keys() {}

  /**
   * Compares keys by Unicode code point, which is the order of their UTF-8 bytes: the order in which S3 and GCS list
   * keys ({@link String#compareTo} differs for characters beyond U+FFFF).
   */
  public static int compareCodePoints(String a, String b) {
    int i = 0;
    int j = 0;
    while (i < a.length() && j < b.length()) {
      int x = a.codePointAt(i);
      int y = b.codePointAt(j);
      if (x != y) {
        return Integer.compare(x, y);
      }
      i += Character.charCount(x);
      j += Character.charCount(y);
    }
    return Integer.compare(a.length() - i, b.length() - j);
  }

  /** The order of folder names: that of the keys beneath them ({@code name + "/"}), in which stores list folders. */
  public static int compareFolders(String a, String b) {
    return compareCodePoints(a + "/", b + "/");
  }

  /** Throws {@link IllegalArgumentException} unless {@code key} is a safe relative object key. */
  public static String requireValid(String key) {
    if (key == null || key.isEmpty()) {
      throw new IllegalArgumentException("store key must not be empty");
    }
    if (key.startsWith("/") || key.endsWith("/") || key.contains("\\") || key.indexOf('\0') >= 0) {
      throw new IllegalArgumentException("invalid store key '" + key + "'");
    }
    for (String segment : key.split("/", -1)) {
      if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
        throw new IllegalArgumentException("invalid store key '" + key + "': empty, '.' or '..' segment");
      }
    }
    return key;
  }

  /**
   * For stores whose keys are opaque names, not paths (S3, GCS, in memory): any key the services accept (not
   * empty, at most 1,024 bytes of UTF-8, no NUL) is kept exactly, so every object of an application's bucket can
   * be backed up and restored under its own key — {@code uploads/./a.png} and {@code a//b} included.
   */
  public static String requireObjectKey(String key) {
    if (key == null || key.isEmpty() || key.indexOf('\0') >= 0
        || key.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > 1024) {
      throw new IllegalArgumentException("invalid object key '" + (key == null ? null : key.replace('\0', '?'))
          + "': empty, over 1024 bytes or holding NUL");
    }
    return key;
  }

  /** A prefix whose folders are listed: empty, or a valid prefix ending with '/'. */
  public static String requireFolderPrefix(String prefix) {
    requireValidPrefix(prefix);
    if (!prefix.isEmpty() && !prefix.endsWith("/")) {
      throw new IllegalArgumentException("a folder prefix is empty or ends with '/': " + prefix);
    }
    return prefix;
  }

  /** A prefix may be empty or end with anything; it must not escape like a key. */
  public static String requireValidPrefix(String prefix) {
    if (prefix == null) {
      throw new IllegalArgumentException("prefix must not be null");
    }
    if (prefix.isEmpty()) {
      return prefix;
    }
    String trimmed = prefix.endsWith("/") ? prefix.substring(0, prefix.length() - 1) : prefix;
    if (!trimmed.isEmpty()) {
      requireValid(trimmed);
    }
    return prefix;
  }
}
