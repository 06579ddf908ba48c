package dev.savepoint.spring.internal;

import dev.savepoint.spring.SavepointProperties;
import java.beans.PropertyDescriptor;
import java.util.List;
import java.util.Map;
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
    Map<String, List<String>> valid = validKeys(SavepointProperties.class, "savepoint.", new java.util.TreeMap<>(), 0);
    StringBuilder description = new StringBuilder("Unknown Savepoint propert" + (ours.size() == 1 ? "y" : "ies")
        + " (a mistyped key would silently drop a setting, so the application does not start):\n");
    for (ConfigurationProperty p : ours) {
      String name = p.getName().toString();
      String last = name.substring(name.lastIndexOf('.') + 1);
      description.append("  ").append(name).append(p.getOrigin() == null ? "" : " (" + p.getOrigin() + ")");
      if (valid.containsKey(last)) {
        // A right name at the wrong level ("savepoint.schedule"): say where it belongs.
        description.append(": ").append(last).append(" belongs at ").append(String.join(" or ", valid.get(last).stream()
            .sorted(java.util.Comparator.comparingInt(String::length)).toList()));
      } else {
        dev.savepoint.core.internal.Suggestions.nearest(last, valid.keySet())
            .ifPresent(guess -> description.append(": did you mean ").append(guess).append('?'));
      }
      description.append('\n');
    }
    return new FailureAnalysis(description.toString().stripTrailing(), "Correct the key; the valid keys are listed in "
        + "the starter's configuration metadata (IDE completion) and in SavepointProperties.", cause);
  }

  /**
   * Every property of {@code type} and the types beneath it (map values, nested options): its kebab-case name, to
   * the full keys it has ({@code savepoint.plans.<name>.schedule}).
   */
  private static Map<String, List<String>> validKeys(Class<?> type, String prefix, Map<String, List<String>> into,
      int depth) {
    for (PropertyDescriptor d : BeanUtils.getPropertyDescriptors(type)) {
      if (d.getName().equals("class") || d.getReadMethod() == null) {
        continue;
      }
      String key = prefix + kebab(d.getName());
      into.computeIfAbsent(kebab(d.getName()), k -> new java.util.ArrayList<>()).add(key);
      Class<?> nested = d.getPropertyType();
      String nestedPrefix = key + ".";
      if (Map.class.isAssignableFrom(nested) && d.getReadMethod().getGenericReturnType()
          instanceof java.lang.reflect.ParameterizedType map) {
        nested = map.getActualTypeArguments()[1] instanceof Class<?> value ? value : Object.class;
        nestedPrefix = key + ".<name>.";
      }
      if (depth < 4 && nested.getName().startsWith(SavepointProperties.class.getName())) {
        validKeys(nested, nestedPrefix, into, depth + 1);
      }
    }
    return into;
  }

  private static String kebab(String camel) {
    return camel.replaceAll("([a-z0-9])([A-Z])", "$1-$2").toLowerCase(java.util.Locale.ROOT);
  }
}
