package dev.savepoint.spring.internal;

import dev.savepoint.spring.SavepointPropertyException;
import org.springframework.boot.context.properties.bind.BindException;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.boot.diagnostics.FailureAnalyzer;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;

/**
 * Explains a {@code savepoint.*} value that cannot work — one that does not convert to its type (a passphrase
 * pasted into {@code rpo}), or one Savepoint refuses (a bad cron, a short HMAC key) — naming the key and where it was
 * set, never the value: Spring's own analysis prints the value, and a value in the wrong key may be a secret.
 */
@Order(Ordered.HIGHEST_PRECEDENCE)
public final class PropertyValueFailureAnalyzer implements FailureAnalyzer {
  @Override
  public FailureAnalysis analyze(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof SavepointPropertyException e) {
        return new FailureAnalysis("Savepoint cannot start: " + e.getMessage(), "Correct that setting; "
            + "docs/operations.md, \"Embedding in a Spring Boot application\", lists every key.", e);
      }
      if (t instanceof BindException e && e.getName().toString().startsWith("savepoint.")) {
        String origin = e.getProperty() == null || e.getProperty().getOrigin() == null ? ""
            : " (" + e.getProperty().getOrigin() + ")";
        return new FailureAnalysis("The Savepoint setting " + e.getName() + origin + " is not a valid "
            + e.getTarget().getType().resolve(Object.class).getSimpleName() + " (the value is not shown: it may be a "
            + "secret set under the wrong key).", "Correct the value of " + e.getName() + ".", e);
      }
    }
    return null;
  }
}
