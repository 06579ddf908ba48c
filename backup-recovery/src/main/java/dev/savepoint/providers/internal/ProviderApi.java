package dev.savepoint.providers.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.savepoint.core.ConfigurationException;
import dev.savepoint.core.Secrets;
import dev.savepoint.providers.ProviderException;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;

/**
 * JSON calls to a provider's management API with a bearer token. Busy answers (423 Locked, 429, 5xx) and
 * connection failures are retried with a doubling pause until the deadline; 401/403 and 404 fail at once with a
 * message that says what to check. The token is read from {@link Secrets} for each call and appears in no message.
 */
public final class ProviderApi {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration MAX_PAUSE = Duration.ofSeconds(30);
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ProviderApi.class);

  private final String provider;
  private final URI base;
  private final Secrets secrets;
  private final String tokenName;
  private final Duration pause;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

  /** {@code base} ends before the paths given to {@link #get}/{@link #post}, e.g. {@code https://api.supabase.com}. */
  public ProviderApi(String provider, URI base, Secrets secrets, String tokenName, Duration pause) {
    this.provider = provider;
    this.base = base;
    this.secrets = secrets;
    this.tokenName = tokenName;
    this.pause = pause;
  }

  /** A project, branch or reference id as providers write them; anything else is refused before any call. */
  public static String requireId(String id, String what) {
    if (id == null || !id.matches("[A-Za-z0-9][A-Za-z0-9_-]*")) {
      throw new IllegalArgumentException("not a " + what + " id: " + id);
    }
    return id;
  }

  public Duration pause() {
    return pause;
  }

  public JsonNode get(String path, String what, Instant deadline) throws IOException, InterruptedException {
    return call("GET", path, null, what, deadline);
  }

  public JsonNode post(String path, Object body, String what, Instant deadline)
      throws IOException, InterruptedException {
    return call("POST", path, JSON.writeValueAsBytes(body), what, deadline);
  }

  private JsonNode call(String method, String path, byte[] body, String what, Instant deadline)
      throws IOException, InterruptedException {
    Duration wait = pause;
    for (int attempt = 1; ; attempt++) {
      char[] token = secrets.get(tokenName).orElseThrow(() -> new ConfigurationException("no " + provider
          + " API token: give the secret '" + tokenName + "' (e.g. an environment variable named in the URI's tokenEnv)"));
      HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofMinutes(1))
          .header("Authorization", "Bearer " + new String(token)).header("Accept", "application/json");
      Arrays.fill(token, '\0');
      request = body == null ? request.GET() : request.header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofByteArray(body));
      String retryReason;
      try {
        HttpResponse<byte[]> response = http.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
        int status = response.statusCode();
        if (status / 100 == 2) {
          return response.body().length == 0 ? JSON.createObjectNode() : JSON.readTree(response.body());
        }
        String reason = reason(response.body());
        if (status == 401 || status == 403) {
          throw new ProviderException(provider + " refused the API token (HTTP " + status + " to " + method + " " + path
              + "): check that the token in '" + tokenName + "' is valid and may manage " + what + reason, status);
        }
        if (status == 404) {
          throw new ProviderException(provider + " has no " + what + " (HTTP 404 to " + method + " " + path + ")"
              + reason, status);
        }
        if (status != 423 && status != 429 && status / 100 != 5) {
          throw new ProviderException(provider + " refused " + method + " " + path + " (HTTP " + status + ")" + reason,
              status);
        }
        if (body != null && status / 100 == 5) {
          throw mayHaveStarted(method, path, "HTTP " + status + reason, status);
        }
        retryReason = "HTTP " + status + reason;
      } catch (IOException e) {
        if (e instanceof ProviderException) {
          throw e;
        }
        if (body != null) {
          throw mayHaveStarted(method, path, "no answer (" + e.getClass().getSimpleName() + ")", 0);
        }
        retryReason = "no answer (" + e.getClass().getSimpleName() + ")";
      }
      if (Instant.now().plus(wait).isAfter(deadline)) {
        throw new ProviderException(provider + ": " + method + " " + path + " still failing after " + attempt
            + " attempt(s): " + retryReason, 0);
      }
      LOG.warn("{}: {} {} failed ({}); retrying in {} s", provider, method, path, retryReason, wait.toSeconds());
      Thread.sleep(wait.toMillis());
      wait = wait.multipliedBy(2).compareTo(MAX_PAUSE) > 0 ? MAX_PAUSE : wait.multipliedBy(2);
    }
  }

  /**
   * A request that changes something is retried only when the provider said it did not take it (423 busy, 429 rate
   * limited): after a 5xx or no answer it may have been carried out (a proxy forwards it, then fails), and a second
   * restore would start on top of the first.
   */
  private ProviderException mayHaveStarted(String method, String path, String why, int status) {
    return new ProviderException(provider + ": " + method + " " + path + " got " + why + " and is not retried: it may "
        + "have reached " + provider + " and started; check its console (operations) before running it again", status);
  }

  /** The provider's own message, short, with anything token-like of ours removed. */
  private String reason(byte[] body) {
    String text;
    try {
      JsonNode json = JSON.readTree(body);
      text = json.path("message").asText(json.path("error").asText(""));
    } catch (IOException | RuntimeException e) {
      text = new String(body, java.nio.charset.StandardCharsets.UTF_8);
    }
    char[] token = secrets.get(tokenName).orElse(new char[0]);
    if (token.length > 0) {
      text = text.replace(new String(token), "***");
    }
    Arrays.fill(token, '\0');
    text = text.strip();
    return text.isEmpty() ? "" : ": " + (text.length() > 300 ? text.substring(0, 300) + "…" : text);
  }
}
