package dev.savepoint.spring.internal;

import dev.savepoint.spring.SavepointProperties;
import java.beans.PropertyDescriptor;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.springframework.beans.BeanUtils;
import org.springframework.boot.context.properties.bind.UnboundConfigurationPropertiesException;
import org.springframework.boot.context.properties.source.ConfigurationProperty;
import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;

/**
 * Explains a mistyped {@code savepoint.*} key at start-up — the key, where it was set, and the nearest valid one
 * ("encryption-pasphrase: did you mean encryption-passphrase?") — and never its value: Spring's own analysis prints
 * the value, and a mistyped passphrase key holds the passphrase. A typo must not silently drop a setting
 * (an unencrypted backup, an unscheduled plan), so unknown keys under {@code savepoint} fail the start.
 */
@Order(Ordered.HIGHEST_PRECEDENCE)
public final class UnknownPropertyFailureAnalyzer extends AbstractFailureAnalyzer<UnboundConfigurationPropertiesException> {
  @Override
  protected FailureAnalysis analyze(Throwable root, UnboundConfigurationPropertiesException cause) {
    List<ConfigurationProperty> ours = cause.getUnboundProperties().stream()
        .filter(p -> p.getName().toString().startsWith("savepoint.")).toList();
    if (ours.isEmpty()) {
      return null;
    }
    Collection<String> valid = validKeys(SavepointProperties.class, new TreeSet<>(), 0);
    StringBuilder description = new StringBuilder("Unknown Savepoint propert" + (ours.size() == 1 ? "y" : "ies")
        + " (a mistyped key would silently drop a setting, so the application does not start):\n");
    for (ConfigurationProperty p : ours) {
      String name = p.getName().toString();
      String last = name.substring(name.lastIndexOf('.') + 1);
      description.append("  ").append(name).append(p.getOrigin() == null ? "" : " (" + p.getOrigin() + ")");
      dev.savepoint.core.internal.Suggestions.nearest(last, valid).ifPresent(guess -> description.append(": did you mean ").append(guess).append('?'));
      description.append('\n');
    }
    return new FailureAnalysis(description.toString().stripTrailing(), "Correct the key; the valid keys are listed in "
        + "the starter's configuration metadata (IDE completion) and in SavepointProperties.", cause);
  }

  /** The kebab-case names of every property of {@code type} and the types beneath it (map values, nested options). */
  private static Collection<String> validKeys(Class<?> type, TreeSet<String> into, int depth) {
    for (PropertyDescriptor d : BeanUtils.getPropertyDescriptors(type)) {
      if (d.getName().equals("class") || d.getReadMethod() == null) {
        continue;
      }
      into.add(kebab(d.getName()));
      Class<?> nested = d.getPropertyType();
      if (Map.class.isAssignableFrom(nested) && d.getReadMethod().getGenericReturnType()
          instanceof java.lang.reflect.ParameterizedType map) {
        nested = map.getActualTypeArguments()[1] instanceof Class<?> value ? value : Object.class;
      }
      if (depth < 4 && nested.getName().startsWith(SavepointProperties.class.getName())) {
        validKeys(nested, into, depth + 1);
      }
    }
    return into;
  }

  private static String kebab(String camel) {
    return camel.replaceAll("([a-z0-9])([A-Z])", "$1-$2").toLowerCase(java.util.Locale.ROOT);
  }
}
