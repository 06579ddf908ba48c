package dev.savepoint.core;

import dev.savepoint.core.internal.ManifestCodec;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * Backs up configuration without secrets: the environment variables (or any map, e.g. properties) whose
 * names match the allow-list ({@code *} is a wildcard), as one JSON artifact {@value #ARTIFACT}. Names that
 * look secret (containing KEY, SECRET, TOKEN, PASSWORD, PASSWD, CREDENTIAL, PRIVATE, AUTH) are never
 * written, even when allowed, and credentials inside URL values ({@code scheme://user:password@host}) are
 * redacted. The manifest lists which names were left out, never their values.
 */
public final class EnvironmentSource implements Source {
  public static final String ARTIFACT = "environment.json";
  private static final Pattern SECRET_NAME =
      Pattern.compile(".*(KEY|SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL|PRIVATE|AUTH).*", Pattern.CASE_INSENSITIVE);
  private static final Pattern URL_CREDENTIALS = Pattern.compile("(://[^/:@\\s]+):\\S*@");

  private final List<Pattern> allow;
  private final Map<String, String> values;

  private EnvironmentSource(List<String> allow, Map<String, String> values) {
    this.allow = allow.stream().map(a -> Pattern.compile(Pattern.quote(a).replace("*", "\\E.*\\Q"))).toList();
    this.values = new TreeMap<>(values);
  }

  /** Environment variables of this process matching {@code allow}. */
  public static EnvironmentSource environment(List<String> allow) {
    return new EnvironmentSource(allow, System.getenv());
  }

  /** Any name/value map (configuration properties, a parsed config file) matching {@code allow}. */
  public static EnvironmentSource of(List<String> allow, Map<String, String> values) {
    return new EnvironmentSource(allow, values);
  }

  @Override
  public String type() {
    return "environment";
  }

  @Override
  public Map<String, Object> backup(ArtifactWriter writer) throws IOException {
    Map<String, String> kept = new LinkedHashMap<>();
    List<String> withheld = new ArrayList<>();
    for (Map.Entry<String, String> e : values.entrySet()) {
      if (allow.stream().noneMatch(p -> p.matcher(e.getKey()).matches())) {
        continue;
      }
      if (SECRET_NAME.matcher(e.getKey()).matches()) {
        withheld.add(e.getKey());
        continue;
      }
      kept.put(e.getKey(), URL_CREDENTIALS.matcher(e.getValue()).replaceAll("$1:***@"));
    }
    try (OutputStream out = writer.open(ARTIFACT)) {
      out.write(ManifestCodec.JSON.writeValueAsBytes(kept));
    }
    Map<String, Object> facts = new LinkedHashMap<>();
    facts.put("variables", kept.size());
    facts.put("withheldAsSecret", withheld);
    return facts;
  }
}
