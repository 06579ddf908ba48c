package dev.savepoint.core.security;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How a URI or connection string is written wherever it lands (errors, logs, audit entries, approval requests,
 * reports, configuration backups): the password of its user information and every credential-like query parameter
 * become {@code ***}. A password may hold {@code /}, {@code @} or {@code :} unencoded (people paste them so): the user
 * information is taken to end at the <em>last</em> {@code @} before the first whitespace, so no part of it survives.
 */
public final class Redaction {
  private static final Pattern SCHEME = Pattern.compile("[A-Za-z][A-Za-z0-9+.-]*://");
  private static final Pattern CREDENTIAL_PARAMETER = Pattern.compile(
      "([?&;](?:access_token|token|key|apikey|api_key|secret|sig|signature|password|passwd|pass|pwd|auth|"
          + "x-amz-signature|x-goog-signature|x-amz-security-token|code|sslpassword)=)[^&;#\\s]*",
      Pattern.CASE_INSENSITIVE);

  private Redaction() {}

  /** Whether {@code text} holds a credential-like query parameter ({@code token=}, {@code password=}, {@code sig=}, …). */
  public static boolean hasCredentialParameter(String text) {
    return CREDENTIAL_PARAMETER.matcher(text).find();
  }

  /** {@code text} with the password of every {@code scheme://user:password@host} and credential parameter masked. */
  public static String uri(String text) {
    StringBuilder out = new StringBuilder();
    Matcher scheme = SCHEME.matcher(text);
    int done = 0;
    while (scheme.find(done)) {
      int start = scheme.end();
      int end = start;
      while (end < text.length() && !Character.isWhitespace(text.charAt(end))) {
        end++;
      }
      int at = text.lastIndexOf('@', end - 1);
      int colon = text.indexOf(':', start);
      out.append(text, done, start);
      if (at >= start && colon >= start && colon < at) {
        out.append(text, start, colon + 1).append("***");
        done = at;
      } else {
        done = start;
      }
    }
    out.append(text.substring(done));
    return CREDENTIAL_PARAMETER.matcher(out).replaceAll("$1***");
  }
}
