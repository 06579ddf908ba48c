package dev.savepoint.report;

import com.fasterxml.jackson.databind.JsonNode;
import dev.savepoint.core.ConfigurationException;
import dev.savepoint.core.internal.ManifestCodec;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * What storage costs, per storage class: the table a status report's cost estimate multiplies with. The default
 * ({@code dev/savepoint/report/prices.json}, documented in docs/operations.md) holds AWS S3 us-east-1 and Google Cloud
 * Storage list prices; a file of the same shape overrides the classes it names and may map plans to the class their
 * objects actually sit in (a lifecycle rule that moves them later is not visible to Savepoint):
 * <pre>{"currency": "USD", "classes": {"STANDARD": {"storageGbMonth": 0.021}}, "plans": {"archive": "DEEP_ARCHIVE"}}</pre>
 */
public final class PriceTable {
  /** Prices of one class: storage per GiB-month, requests per thousand, retrieval per GiB, hours until readable. */
  public record Price(double storageGbMonth, double putPer1000, double getPer1000, double retrievalGb,
      double thawHours) {}

  private final String currency;
  private final Map<String, Price> classes;
  private final Map<String, String> plans;

  private PriceTable(String currency, Map<String, Price> classes, Map<String, String> plans) {
    this.currency = currency;
    this.classes = Map.copyOf(classes);
    this.plans = Map.copyOf(plans);
  }

  /** The built-in table. */
  public static PriceTable defaults() {
    try (InputStream in = PriceTable.class.getResourceAsStream("prices.json")) {
      if (in == null) {
        throw new IllegalStateException("prices.json is missing from Savepoint's jar");
      }
      return parse(ManifestCodec.JSON.readTree(in), "the built-in price table", new PriceTable("USD", Map.of(),
          Map.of()));
    } catch (IOException e) {
      throw new IllegalStateException("the built-in price table does not read", e);
    }
  }

  /** The built-in table with what {@code file} says on top. */
  public static PriceTable defaultsWith(Path file) throws IOException {
    JsonNode root;
    try {
      root = ManifestCodec.JSON.readTree(Files.readAllBytes(file));
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new ConfigurationException("price file " + file + " is not JSON: " + e.getOriginalMessage());
    }
    return parse(root, "price file " + file, defaults());
  }

  private static PriceTable parse(JsonNode root, String origin, PriceTable base) throws ConfigurationException {
    if (root == null || !root.isObject()) {
      throw new ConfigurationException(origin + " is not a JSON object");
    }
    requireOnly(root, java.util.Set.of("about", "currency", "classes", "plans"), origin);
    Map<String, Price> classes = new LinkedHashMap<>(base.classes);
    JsonNode given = root.path("classes");
    for (Iterator<Map.Entry<String, JsonNode>> it = given.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      requireOnly(e.getValue(), FIELDS, origin + ": classes." + e.getKey());
      Price was = classes.getOrDefault(e.getKey(), new Price(0, 0, 0, 0, 0));
      JsonNode p = e.getValue();
      classes.put(e.getKey(), new Price(number(p, "storageGbMonth", was.storageGbMonth(), origin, e.getKey()),
          number(p, "putPer1000", was.putPer1000(), origin, e.getKey()),
          number(p, "getPer1000", was.getPer1000(), origin, e.getKey()),
          number(p, "retrievalGb", was.retrievalGb(), origin, e.getKey()),
          number(p, "thawHours", was.thawHours(), origin, e.getKey())));
    }
    Map<String, String> plans = new LinkedHashMap<>(base.plans);
    for (Iterator<Map.Entry<String, JsonNode>> it = root.path("plans").fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (!classes.containsKey(e.getValue().asText())) {
        throw new ConfigurationException(origin + ": plans." + e.getKey() + " names the class '" + e.getValue().asText()
            + "', which the table does not price (classes: " + String.join(", ", classes.keySet()) + ")");
      }
      plans.put(e.getKey(), e.getValue().asText());
    }
    String currency = root.path("currency").asText(base.currency);
    if (currency.isBlank()) {
      throw new ConfigurationException(origin + ": currency is empty");
    }
    return new PriceTable(currency, classes, plans);
  }

  private static final java.util.Set<String> FIELDS = java.util.Set.of("storageGbMonth", "putPer1000", "getPer1000",
      "retrievalGb", "thawHours");

  /** Refuses a key {@code node} may not hold: a misspelt price would silently keep the built-in one. */
  private static void requireOnly(JsonNode node, java.util.Set<String> allowed, String origin)
      throws ConfigurationException {
    if (!node.isObject()) {
      throw new ConfigurationException(origin + " is not a JSON object");
    }
    for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
      String key = it.next();
      if (!allowed.contains(key)) {
        throw new ConfigurationException(origin + ": unknown key '" + key + "' (known: "
            + String.join(", ", new java.util.TreeSet<>(allowed)) + ")");
      }
    }
  }

  private static double number(JsonNode price, String field, double otherwise, String origin, String storageClass)
      throws ConfigurationException {
    JsonNode v = price.get(field);
    if (v == null) {
      return otherwise;
    }
    if (!v.isNumber() || v.asDouble() < 0) {
      throw new ConfigurationException(origin + ": classes." + storageClass + "." + field + " must be a number >= 0, "
          + "was " + v);
    }
    return v.asDouble();
  }

  public String currency() {
    return currency;
  }

  /** The class {@code plan}'s objects sit in: the file's mapping, else the class its store writes. */
  public Optional<String> classOf(String plan, Optional<String> written) {
    return Optional.ofNullable(plans.get(plan)).or(() -> written);
  }

  /** The prices of {@code storageClass}, if the table knows it. */
  public Optional<Price> price(String storageClass) {
    return Optional.ofNullable(classes.get(storageClass));
  }
}
