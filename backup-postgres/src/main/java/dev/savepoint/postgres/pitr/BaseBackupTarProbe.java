package dev.savepoint.postgres.pitr;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.jspecify.annotations.Nullable;

/**
 * Copies {@code pg_basebackup}'s tar to the repository unchanged while reading, on the way, the exact WAL range the
 * backup needs: {@code START WAL LOCATION} and {@code START TIMELINE} from {@code backup_label} (the first entries)
 * and {@code WAL-Ranges} from {@code backup_manifest} (the last; PostgreSQL 13+, streamed, never held whole).
 * {@code -X none} prints neither point, so without this the range could only be bracketed from outside.
 */
final class BaseBackupTarProbe {
  private static final Pattern START = Pattern.compile("(?m)^START WAL LOCATION: ([0-9A-F]+/[0-9A-F]+)");
  private static final Pattern TIMELINE = Pattern.compile("(?m)^START TIMELINE: (\\d+)");

  /** What was found; any part may be null (no manifest before PostgreSQL 13, or {@code --no-manifest}). */
  record WalRange(@Nullable String startLsn, @Nullable Integer startTimeline, @Nullable String manifestStartLsn,
      @Nullable String manifestEndLsn) {}

  private BaseBackupTarProbe() {}

  /** Copies all of {@code tar} to {@code out} and returns the WAL range read from it. */
  static WalRange copy(InputStream tar, OutputStream out) throws IOException {
    Copying copying = new Copying(tar, out);
    String start = null;
    Integer timeline = null;
    String manifestStart = null;
    String manifestEnd = null;
    TarArchiveInputStream entries = new TarArchiveInputStream(copying);
    TarArchiveEntry e;
    while ((e = entries.getNextEntry()) != null) {
      String name = e.getName().startsWith("./") ? e.getName().substring(2) : e.getName();
      if (name.equals("backup_label") && e.getSize() < 64 * 1024) {
        String label = new String(entries.readAllBytes(), StandardCharsets.UTF_8);
        Matcher m = START.matcher(label);
        start = m.find() ? m.group(1) : null;
        Matcher t = TIMELINE.matcher(label);
        timeline = t.find() ? Integer.valueOf(t.group(1)) : null;
      } else if (name.equals("backup_manifest")) {
        String[] range = walRange(entries);
        manifestStart = range[0];
        manifestEnd = range[1];
      }
    }
    copying.transferTo(OutputStream.nullOutputStream()); // the tar's trailing blocks, copied like the rest
    return new WalRange(start, timeline, manifestStart, manifestEnd);
  }

  /** The first {@code Start-LSN} and last {@code End-LSN} of the manifest's {@code WAL-Ranges}, streaming. */
  private static String[] walRange(InputStream manifest) throws IOException {
    String[] range = new String[2];
    JsonParser p = new JsonFactory().createParser(new FilterInputStream(manifest) {
      @Override
      public void close() {
        // the tar entry's end, not the tar's
      }
    });
    int depth = 0;
    while (p.nextToken() != null) {
      JsonToken t = p.currentToken();
      if (t == JsonToken.START_OBJECT || t == JsonToken.START_ARRAY) {
        depth++;
      } else if (t == JsonToken.END_OBJECT || t == JsonToken.END_ARRAY) {
        depth--;
      } else if (t == JsonToken.FIELD_NAME && depth == 1 && p.currentName().equals("WAL-Ranges")) {
        p.nextToken();
        while (p.nextToken() == JsonToken.START_OBJECT) {
          while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            p.nextToken();
            if (field.equals("Start-LSN") && range[0] == null) {
              range[0] = p.getText();
            } else if (field.equals("End-LSN")) {
              range[1] = p.getText();
            } else {
              p.skipChildren();
            }
          }
        }
      } else if (t == JsonToken.FIELD_NAME && depth == 1) {
        p.nextToken();
        p.skipChildren();
      }
    }
    return range;
  }

  /** Passes every byte read, or skipped, on to {@code out}. */
  private static final class Copying extends FilterInputStream {
    private final OutputStream out;
    private final byte[] skipBuffer = new byte[64 * 1024];

    Copying(InputStream in, OutputStream out) {
      super(in);
      this.out = out;
    }

    @Override
    public int read() throws IOException {
      int b = super.read();
      if (b >= 0) {
        out.write(b);
      }
      return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      int n = super.read(b, off, len);
      if (n > 0) {
        out.write(b, off, n);
      }
      return n;
    }

    @Override
    public long skip(long n) throws IOException {
      int r = read(skipBuffer, 0, (int) Math.min(n, skipBuffer.length));
      return Math.max(r, 0);
    }

    @Override
    public void close() {
      // the caller closes the process's stream
    }

    @Override
    public boolean markSupported() {
      return false;
    }
  }
}
