package dev.savepoint.postgres.internal;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Set;

/**
 * Copies a plain-format dump, leaving out the {@code ALTER TABLE ONLY <table> ADD CONSTRAINT <name> FOREIGN KEY}
 * statements of the given constraint names: for loading a tier into a scratch database without the rows of the
 * tier its declared cross-tier references point to (they are checked against the live database instead).
 * COPY data is passed through untouched; the copy streams (a statement header is the most it holds).
 */
public final class ForeignKeyFilter {
  private static final byte[] ALTER = "ALTER TABLE ONLY ".getBytes(StandardCharsets.US_ASCII);
  private static final int MAX_HEADER = 64 * 1024;

  private final Set<String> constraints;

  /** {@code constraints} as pg_dump writes them in {@code ADD CONSTRAINT <name> FOREIGN KEY} (quoted if needed). */
  public ForeignKeyFilter(Set<String> constraints) {
    this.constraints = constraints;
  }

  public void copy(InputStream in, OutputStream out) throws IOException {
    Lines lines = new Lines(in);
    boolean data = false;
    byte[] held = null; // An "ALTER TABLE ONLY" line, until the next line says whether to drop it.
    byte[] line;
    while ((line = lines.next()) != null) {
      if (!lines.whole()) { // A piece of a long line: only whole lines are statements or the end of data.
        if (held != null) {
          out.write(held);
          held = null;
        }
        out.write(line);
        continue;
      }
      String text = new String(line, StandardCharsets.UTF_8);
      if (data) {
        out.write(line);
        data = !text.equals("\\.\n");
        continue;
      }
      if (held != null) {
        if (dropped(text)) {
          held = null;
          continue;
        }
        out.write(held);
        held = null;
      }
      if (startsWith(line, ALTER)) {
        held = line;
        continue;
      }
      out.write(line);
      data = text.endsWith(" FROM stdin;\n");
    }
    if (held != null) {
      out.write(held);
    }
  }

  private boolean dropped(String line) {
    String prefix = "    ADD CONSTRAINT ";
    if (!line.startsWith(prefix) || !line.contains(" FOREIGN KEY ")) {
      return false;
    }
    String name = line.substring(prefix.length(), line.indexOf(" FOREIGN KEY "));
    return constraints.contains(name);
  }

  private static boolean startsWith(byte[] line, byte[] prefix) {
    if (line.length < prefix.length) {
      return false;
    }
    for (int i = 0; i < prefix.length; i++) {
      if (line[i] != prefix[i]) {
        return false;
      }
    }
    return true;
  }

  /** Splits a stream into lines; a line longer than {@link #MAX_HEADER} comes in pieces. */
  private static final class Lines {
    private final InputStream in;
    private final byte[] buf = new byte[1 << 16];
    private int pos;
    private int len;
    private boolean complete = true;
    private boolean startsLine;

    Lines(InputStream in) {
      this.in = in;
    }

    /** Whether the last piece was a whole line (it began a line and ended with its newline). */
    boolean whole() {
      return startsLine && complete;
    }

    byte[] next() throws IOException {
      startsLine = complete;
      ByteArrayOutputStream line = new ByteArrayOutputStream();
      while (true) {
        if (pos == len) {
          len = in.read(buf);
          pos = 0;
          if (len <= 0) {
            len = 0;
            complete = false;
            return line.size() == 0 ? null : line.toByteArray();
          }
        }
        int start = pos;
        while (pos < len && buf[pos] != '\n') {
          pos++;
        }
        if (pos < len) {
          pos++;
          line.write(buf, start, pos - start);
          complete = true;
          return line.toByteArray();
        }
        line.write(buf, start, pos - start);
        if (line.size() >= MAX_HEADER) {
          complete = false;
          return line.toByteArray();
        }
      }
    }
  }
}
