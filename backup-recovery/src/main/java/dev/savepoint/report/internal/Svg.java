package dev.savepoint.report.internal;

import java.util.Locale;

/**
 * A small writer of inline SVG (and the HTML around it): elements with attributes given as name–value pairs, every
 * value and text escaped, numbers with one decimal in the root locale. Styling is left to the page's CSS classes, so
 * one chart serves light, dark and print.
 *
 * <pre>{@code
 * Svg s = new Svg();
 * s.open("svg", "viewBox", "0 0 400 100", "role", "img").title("backups");
 * s.empty("circle", "class", "backup", "cx", 10.0, "cy", 20.0, "r", 4.0);
 * s.text("label", 10.0, 40.0, "14:00").close("svg");
 * }</pre>
 */
public final class Svg {
  private final StringBuilder out = new StringBuilder();

  /** Opens {@code <tag attrs…>}. */
  public Svg open(String tag, Object... attributes) {
    out.append('<').append(tag);
    attributes(attributes);
    out.append('>');
    return this;
  }

  /** Writes {@code <tag attrs…/>}. */
  public Svg empty(String tag, Object... attributes) {
    out.append('<').append(tag);
    attributes(attributes);
    out.append("/>");
    return this;
  }

  public Svg close(String tag) {
    out.append("</").append(tag).append('>');
    return this;
  }

  /** An element holding only escaped text: {@code <tag attrs…>text</tag>}. */
  public Svg element(String tag, String text, Object... attributes) {
    return open(tag, attributes).escaped(text).close(tag);
  }

  /** An SVG {@code <text>} of class {@code cssClass} at ({@code x}, {@code y}). */
  public Svg text(String cssClass, double x, double y, String text, Object... more) {
    Object[] attributes = new Object[6 + more.length];
    attributes[0] = "class";
    attributes[1] = cssClass;
    attributes[2] = "x";
    attributes[3] = x;
    attributes[4] = "y";
    attributes[5] = y;
    System.arraycopy(more, 0, attributes, 6, more.length);
    return element("text", text, attributes);
  }

  /** A {@code <title>}: the tooltip of the enclosing element, and what a screen reader announces. */
  public Svg title(String text) {
    return element("title", text);
  }

  /** Escaped text. */
  public Svg escaped(String text) {
    out.append(escape(text));
    return this;
  }

  /** Markup written as given: only for what this writer or another escaping writer produced. */
  public Svg raw(String markup) {
    out.append(markup);
    return this;
  }

  private void attributes(Object[] pairs) {
    if (pairs.length % 2 != 0) {
      throw new IllegalArgumentException("attributes come in name-value pairs");
    }
    for (int i = 0; i < pairs.length; i += 2) {
      Object v = pairs[i + 1];
      out.append(' ').append(pairs[i]).append("=\"").append(v instanceof Double d ? number(d) : escape(String.valueOf(v)))
          .append('"');
    }
  }

  public static String number(double d) {
    return String.format(Locale.ROOT, "%.1f", d);
  }

  /** Text safe in element content and in double-quoted attributes. */
  public static String escape(String s) {
    StringBuilder b = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '&' -> b.append("&amp;");
        case '<' -> b.append("&lt;");
        case '>' -> b.append("&gt;");
        case '"' -> b.append("&quot;");
        case '\'' -> b.append("&#39;");
        default -> b.append(c < 0x20 && c != '\n' && c != '\t' ? '\uFFFD' : c);
      }
    }
    return b.toString();
  }

  @Override
  public String toString() {
    return out.toString();
  }
}
