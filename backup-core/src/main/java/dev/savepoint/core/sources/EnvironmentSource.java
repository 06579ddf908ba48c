package dev.savepoint.core.sources;

import dev.savepoint.core.ArtifactWriter;
import dev.savepoint.core.Source;
import dev.savepoint.core.SourceException;
import dev.savepoint.core.internal.ManifestCodec;
import dev.savepoint.core.security.Redaction;
import java.io.IOException;
import java.io.OutputStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * Backs up configuration without secrets: the environment variables (or any map, e.g. properties) whose
 * names match the allow-list ({@code *} is a wildcard), as one JSON artifact {@value #ARTIFACT}. Secrets are
 * denied by default, even when allowed by name:
 *
 * <ul>
 *   <li>names containing a secret word (PASS, PWD, SECRET, TOKEN, KEY, CREDENTIAL, CREDS, PRIVATE, AUTH, WEBHOOK,
 *       DSN, COOKIE, SESSION, SIGNATURE, SALT, CERT, JWT, HMAC, PHRASE) or the part PW, PIN or OTP are withheld;
 *   <li>values that carry credentials are withheld: token-like URL query parameters ({@code token=},
 *       {@code key=}, {@code sig=}, ...), {@code password=} in JDBC/libpq connection strings, assignments such as
 *       {@code -Ddb.password=…} or {@code api_key: …}, PEM blocks, 32+ hex digits, and high-entropy strings (24+
 *       characters of letters and digits that look random);
 *   <li>a URL with a password in its user information ({@code scheme://user:password@host}, also one holding
 *       {@code /} or {@code @}) is withheld whole: masked, it would restore as a working-looking URL whose password
 *       is {@code ***}; URLs without one are kept.
 * </ul>
 *
 * The manifest lists each withheld name with the reason ({@code withheld}), never its value.
 * {@link #allowSecret} stores a named variable despite these rules: for the rare, reviewed case.
 */
public final class EnvironmentSource implements Source {
  public static final String ARTIFACT = "environment.json";
  private static final Pattern SECRET_NAME = Pattern.compile(
      ".*(PASS|PWD|SECRET|TOKEN|KEY|CREDENTIAL|CREDS|PRIVATE|AUTH|WEBHOOK|DSN|COOKIE|SESSION|SIGNATURE|SALT|CERT|JWT"
          + "|HMAC|PHRASE).*|(.*[_.-])?(PW|PIN|OTP)([_.-].*)?", Pattern.CASE_INSENSITIVE);
  /** {@code -Ddb.password=…}, {@code secret: …}, {@code api_key=…} inside a longer value (JAVA_OPTS, a config line). */
  private static final Pattern CREDENTIAL_ASSIGNMENT = Pattern.compile(
      "[\\w.-]*(password|passwd|pwd|secret|token|passphrase|api[_-]?key|credentials?)[\\w.-]*\\s*[=:]\\s*\\S",
      Pattern.CASE_INSENSITIVE);
  /** {@code --password s3cret}, {@code --token=…}: a command line's credential option. */
  private static final Pattern CREDENTIAL_OPTION = Pattern.compile(
      "(^|\\s)--?(password|passwd|pass|pwd|secret|token|api-?key|passphrase)(=|\\s+)\\S", Pattern.CASE_INSENSITIVE);
  /** 32 or more hex digits: a key, a digest-like token (entropy cannot tell: hex has only 4 bits per digit). */
  private static final Pattern HEX_KEY = Pattern.compile("(?<![0-9A-Za-z])[0-9A-Fa-f]{32,}(?![0-9A-Za-z])");
  private static final Pattern CONNECTION_PASSWORD = Pattern.compile("(^|[\\s;?&])(password|pwd)\\s*=",
      Pattern.CASE_INSENSITIVE);
  private static final Pattern RANDOM_LOOKING = Pattern.compile("[A-Za-z0-9+/_=-]{24,}");

  private final List<String> allowNames;
  private final List<Pattern> allow;
  private final Map<String, String> values;
  private final Set<String> allowedSecrets;

  private EnvironmentSource(List<String> allow, Map<String, String> values, Set<String> allowedSecrets) {
    this.allowNames = List.copyOf(allow);
    this.allow = allow.stream()
        .map(a -> Pattern.compile(Pattern.quote(a).replace("*", "\\E.*\\Q"), Pattern.DOTALL)).toList();
    this.values = new TreeMap<>(values);
    this.allowedSecrets = Set.copyOf(allowedSecrets);
  }

  /** Environment variables of this process matching {@code allow}. */
  public static EnvironmentSource environment(List<String> allow) {
    return new EnvironmentSource(allow, System.getenv(), Set.of());
  }

  /** Any name/value map (configuration properties, a parsed config file) matching {@code allow}. */
  public static EnvironmentSource of(List<String> allow, Map<String, String> values) {
    return new EnvironmentSource(allow, values, Set.of());
  }

  /**
   * Stores these exact names even though their name or value looks secret. The value then sits in the backup
   * (encrypted only if the plan encrypts): use it for values that merely look random, never for real secrets.
   */
  public EnvironmentSource allowSecret(String... names) {
    Set<String> more = new java.util.HashSet<>(allowedSecrets);
    more.addAll(List.of(names));
    return new EnvironmentSource(allowNames, values, more);
  }

  @Override
  public String type() {
    return "environment";
  }

  @Override
  public Map<String, Object> backup(ArtifactWriter writer) throws IOException {
    for (String exact : allowNames) {
      if (!exact.contains("*") && !values.containsKey(exact)) {
        throw new SourceException("configuration variable " + exact + " named in the allow-list is not set; remove "
            + "it from the list or set it (a pattern with * may match nothing)");
      }
    }
    Map<String, String> kept = new LinkedHashMap<>();
    Map<String, String> withheld = new LinkedHashMap<>();
    for (Map.Entry<String, String> e : values.entrySet()) {
      if (allow.stream().noneMatch(p -> p.matcher(e.getKey()).matches())) {
        continue;
      }
      String reason = allowedSecrets.contains(e.getKey()) ? null : secretReason(e.getKey(), e.getValue());
      if (reason != null) {
        withheld.put(e.getKey(), reason);
        continue;
      }
      kept.put(e.getKey(), e.getValue());
    }
    try (OutputStream out = writer.open(ARTIFACT)) {
      out.write(ManifestCodec.JSON.writeValueAsBytes(kept));
    }
    Map<String, Object> facts = new LinkedHashMap<>();
    facts.put("variables", kept.size());
    facts.put("withheldAsSecret", List.copyOf(withheld.keySet()));
    facts.put("withheld", withheld);
    return facts;
  }

  /** Why {@code name=value} must not be stored, or null. */
  static @Nullable String secretReason(String name, String value) {
    if (SECRET_NAME.matcher(name).matches()) {
      return "secret-looking name";
    }
    if (value.contains("-----BEGIN")) {
      return "PEM block in value";
    }
    if (Redaction.hasCredentialParameter(value)) {
      return "token-like URL parameter in value";
    }
    if (CONNECTION_PASSWORD.matcher(value).find()) {
      return "password in connection string";
    }
    if (!Redaction.uri(value).equals(value)) {
      // Masked, the value would restore as a working-looking URL with the password "***": withheld whole instead.
      return "password in URL";
    }
    if (CREDENTIAL_ASSIGNMENT.matcher(value).find() || CREDENTIAL_OPTION.matcher(value).find()) {
      return "credential assignment in value";
    }
    if (HEX_KEY.matcher(value).find()) {
      return "hex key in value";
    }
    Matcher m = RANDOM_LOOKING.matcher(value);
    while (m.find()) {
      if (looksRandom(m.group())) {
        return "high-entropy value (a key or token?)";
      }
    }
    return null;
  }

  /** Letters and digits mixed with more than 4 bits of entropy per character: generated, not written. */
  private static boolean looksRandom(String s) {
    boolean letters = s.chars().anyMatch(Character::isLetter);
    boolean digits = s.chars().anyMatch(Character::isDigit);
    if (!letters || !digits) {
      return false;
    }
    Map<Integer, Integer> counts = new java.util.HashMap<>();
    s.chars().forEach(c -> counts.merge(c, 1, Integer::sum));
    double entropy = 0;
    for (int n : counts.values()) {
      double p = (double) n / s.length();
      entropy -= p * Math.log(p) / Math.log(2);
    }
    return entropy > 4.0;
  }
}
