package dev.savepoint.core.internal;

import java.util.Collection;
import java.util.Locale;
import java.util.Optional;

/** The valid name an operator most likely meant by a mistyped one ("sorce": source), for configuration errors. */
public final class Suggestions {
  private Suggestions() {}

  /** The closest of {@code valid} to {@code typed}, ignoring case, if one is at most two edits away. */
  public static Optional<String> nearest(String typed, Collection<String> valid) {
    String best = null;
    int bestDistance = 3;
    for (String v : valid) {
      int d = distance(v.toLowerCase(Locale.ROOT), typed.toLowerCase(Locale.ROOT));
      if (d < bestDistance) {
        best = v;
        bestDistance = d;
      }
    }
    return Optional.ofNullable(best);
  }

  /** Levenshtein distance: how many single-letter edits turn {@code a} into {@code b}. */
  static int distance(String a, String b) {
    int[] previous = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      previous[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      int[] current = new int[b.length() + 1];
      current[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        current[j] = Math.min(Math.min(current[j - 1] + 1, previous[j] + 1),
            previous[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1));
      }
      previous = current;
    }
    return previous[b.length()];
  }
}
