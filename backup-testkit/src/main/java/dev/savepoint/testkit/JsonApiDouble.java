package dev.savepoint.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Base of the local HTTP doubles of providers' JSON management APIs ({@link NeonApiDouble},
 * {@link SupabaseApiDouble}): it records every request, answers 401 to any bearer token but the expected one, and
 * answers queued failures ({@link #failNext}) before the double's own behaviour.
 */
public abstract class JsonApiDouble implements AutoCloseable {
  protected static final ObjectMapper JSON = new ObjectMapper();

  /** One request as received: method, path (without the base), the Authorization header and the JSON body. */
  public record Request(String method, String path, @Nullable String authorization, @Nullable JsonNode body) {}

  /** An answer: HTTP status and a JSON body. */
  protected record Answer(int status, Object body) {}

  private final HttpServer server;
  private final String base;
  private final String token;
  private final List<Request> requests = new ArrayList<>();
  private final Deque<Integer> failures = new ArrayDeque<>();
  /** The bodies of the restore requests the double accepted. */
  protected final List<JsonNode> restores = new ArrayList<>();
  /** Whether restores end in the provider's failure state. */
  protected boolean failRestores;

  protected JsonApiDouble(String base, String token) throws IOException {
    this.base = base;
    this.token = token;
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/", this::handle);
    server.start();
  }

  /** The API's base URI, as the adapters take it. */
  public URI endpoint() {
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + base);
  }

  public synchronized List<Request> requests() {
    return List.copyOf(requests);
  }

  /** The bodies of the restore requests accepted so far. */
  public synchronized List<JsonNode> restores() {
    return List.copyOf(restores);
  }

  /** Restores end in the provider's failure state from now on. */
  public synchronized void failRestores() {
    failRestores = true;
  }

  /** The next requests are answered with these statuses, in order, before anything else happens. */
  public synchronized void failNext(int... statuses) {
    for (int s : statuses) {
      failures.add(s);
    }
  }

  /**
   * The next POST is carried out, but its answer is replaced by {@code status}: a proxy in front of the API that
   * forwarded the request and then failed (a 502 after the work began).
   */
  public synchronized void losePostAnswer(int status) {
    losePostAnswer = status;
  }

  private @Nullable Integer losePostAnswer;

  /** The double's behaviour for an authenticated request that no queued failure answered. */
  protected abstract Answer answer(String method, String path, @Nullable JsonNode body);

  private void handle(HttpExchange ex) throws IOException {
    Answer a;
    synchronized (this) {
      byte[] raw = ex.getRequestBody().readAllBytes();
      String path = ex.getRequestURI().getPath().substring(base.length());
      String authorization = ex.getRequestHeaders().getFirst("Authorization");
      JsonNode body = raw.length == 0 ? null : JSON.readTree(raw);
      requests.add(new Request(ex.getRequestMethod(), path, authorization, body));
      if (!failures.isEmpty()) {
        int status = failures.poll();
        a = new Answer(status, Map.of("message", "injected HTTP " + status));
      } else if (!("Bearer " + token).equals(authorization)) {
        a = new Answer(401, Map.of("message", "invalid API token"));
      } else {
        a = answer(ex.getRequestMethod(), path, body);
        if (losePostAnswer != null && ex.getRequestMethod().equals("POST")) {
          a = new Answer(losePostAnswer, Map.of("message", "bad gateway"));
          losePostAnswer = null;
        }
      }
    }
    byte[] out = JSON.writeValueAsBytes(a.body());
    ex.getResponseHeaders().add("Content-Type", "application/json");
    ex.sendResponseHeaders(a.status(), out.length);
    ex.getResponseBody().write(out);
    ex.close();
  }

  protected static Answer notFound(String what) {
    return new Answer(404, Map.of("message", what + " not found"));
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
