package dev.savepoint.postgres.pitr;

import dev.savepoint.core.IntegrityException;
import dev.savepoint.core.RestoreException;
import dev.savepoint.core.Secrets;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.jspecify.annotations.Nullable;

/**
 * Fetches archived WAL into a restore's {@code savepoint_wal} directory — what recovery to a target reads, in
 * parallel, partial segments padded to their size — and reads with {@code pg_waldump} when the newest transaction in
 * fetched WAL ended.
 */
final class WalFetch {
  private final WalArchive archive;
  private final Path dir;
  private final long size;
  private final Secrets secrets;

  WalFetch(WalArchive archive, Path dir, long size, Secrets secrets) {
    this.archive = archive;
    this.dir = dir;
    this.size = size;
    this.secrets = secrets;
  }

  private static final java.util.regex.Pattern TRANSACTION_END = java.util.regex.Pattern.compile(
      "desc: (?:COMMIT|ABORT) (\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d(?:\\.\\d+)?) UTC");

  /**
   * When the newest transaction in the fetched WAL ended (commit or abort, what {@code recovery_target_time}
   * compares), read with {@code pg_waldump} from the newest segment back; null if the WAL holds none.
   */
  static @Nullable Instant lastTransactionEnd(Path wal, List<WalArchive.Entry> files, String waldump)
      throws IOException {
    List<String> segments = new ArrayList<>();
    for (WalArchive.Entry f : files) {
      String name = f.name().endsWith(".partial") ? f.name().substring(0, 24) : f.name();
      if (name.matches("[0-9A-F]{24}")) {
        segments.add(0, name);
      }
    }
    java.time.format.DateTimeFormatter format = new java.time.format.DateTimeFormatterBuilder()
        .appendPattern("yyyy-MM-dd HH:mm:ss").optionalStart().appendFraction(java.time.temporal.ChronoField.NANO_OF_SECOND,
            0, 9, true).optionalEnd().toFormatter().withZone(java.time.ZoneOffset.UTC);
    for (String segment : segments) {
      Path errors = Files.createTempFile("savepoint-waldump-", ".err");
      ProcessBuilder pb = new ProcessBuilder(waldump, "--path", wal.toString(), "--rmgr",
          "Transaction", segment, segment).redirectError(errors.toFile());
      pb.environment().put("TZ", "UTC");
      Process p = pb.start();
      Instant newest = null;
      try (var lines = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream(),
          java.nio.charset.StandardCharsets.UTF_8))) {
        for (String line; (line = lines.readLine()) != null; ) {
          java.util.regex.Matcher m = TRANSACTION_END.matcher(line);
          if (m.find()) {
            Instant at = format.parse(m.group(1), Instant::from);
            newest = newest == null || at.isAfter(newest) ? at : newest;
          }
        }
      }
      try {
        // A padded partial segment ends in an "error in WAL record" (its end): what was read counts. Any other
        // failure (a segment it cannot read at all) must not pass for "no transaction": that restores past the target.
        String error = p.waitFor() == 0 ? "" : Files.readString(errors).strip();
        if (newest == null && !error.isEmpty() && !error.contains("error in WAL record")) {
          throw new RestoreException("cannot read WAL segment " + segment + " with " + waldump + ": " + error);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new java.io.InterruptedIOException("interrupted while reading WAL with pg_waldump");
      } finally {
        Files.deleteIfExists(errors);
      }
      if (newest != null) {
        return newest;
      }
    }
    return null;
  }

  /**
   * Fetches what recovery to the target reads (issue 43: a damaged segment after the target must not fail a restore
   * that does not need it), and returns it: the history files; every segment through the base backup's end; for a
   * WAL position, the segments up to the one holding it; for a time, the segments stored before it (they hold no
   * commit after it) and then, one at a time, those after, until one holds a commit after the time — recovery stops
   * there; for the newest WAL, all.
   */
  List<WalArchive.Entry> needed(List<WalArchive.Entry> chain, @Nullable Instant target, @Nullable Long lsn,
      long stopLsn, @Nullable String waldump) throws IOException {
    List<WalArchive.Entry> histories = chain.stream().filter(f -> f.name().endsWith(".history")).toList();
    List<WalArchive.Entry> segments = chain.stream().filter(f -> !f.name().endsWith(".history")).toList();
    if (target == null && lsn == null) {
      all(chain);
      return chain;
    }
    long through = WalSegment.containing(1, lsn != null ? Math.max(lsn, stopLsn) : stopLsn, size).number();
    List<WalArchive.Entry> needed = new ArrayList<>(histories);
    int i = 0;
    for (; i < segments.size(); i++) {
      WalArchive.Entry s = segments.get(i);
      if (s.segment(size).number() > through && (lsn != null || s.storedAt().isAfter(target))) {
        break;
      }
      needed.add(s);
    }
    all(needed);
    if (lsn != null) {
      return needed;
    }
    String waldumpForTime = java.util.Objects.requireNonNull(waldump, "pg_waldump is found for a time target");
    Instant newestSoFar = lastTransactionEnd(dir, needed, waldumpForTime);
    if (newestSoFar != null && newestSoFar.isAfter(target)) {
      return needed; // the base backup's own WAL already holds the stop
    }
    for (; i < segments.size(); i++) { // one at a time: usually the first holds the stop, and no further file is read
      WalArchive.Entry s = segments.get(i);
      one(s);
      needed.add(s);
      Instant newest = lastTransactionEnd(dir, List.of(s), waldumpForTime);
      if (newest != null && newest.isAfter(target)) {
        return needed; // recovery stops in this segment; what follows is never read
      }
    }
    return needed;
  }

  /** Fetches the WAL files in parallel; a partial segment is padded to full size under its segment name. */
  void all(List<WalArchive.Entry> files) throws IOException {
    ExecutorService pool = Executors.newFixedThreadPool(4,
        dev.savepoint.core.internal.DaemonThreads.named("savepoint-wal-fetch"));
    try {
      List<Future<Void>> done = new ArrayList<>();
      for (WalArchive.Entry e : files) {
        done.add(pool.submit(() -> {
          one(e);
          return null;
        }));
      }
      for (Future<Void> f : done) {
        f.get();
      }
    } catch (ExecutionException e) {
      throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("interrupted while fetching WAL");
    } finally {
      pool.shutdownNow();
    }
  }

  /**
   * Fetches one WAL file. A partial segment may be superseded while a streamer runs (by a longer partial, or the
   * complete segment): the newest version is taken then, which holds at least the same WAL.
   */
  void one(WalArchive.Entry entry) throws IOException {
    boolean partial = entry.name().endsWith(".partial");
    String segment = partial ? entry.name().substring(0, entry.name().length() - 8) : entry.name();
    if (!WalSegment.isFileName(segment) || !dir.equals(dir.resolve(segment).getParent())) {
      throw new IntegrityException("WAL record names '" + entry.name() + "', which is no WAL file name: refused");
    }
    Path file = dir.resolve(segment);
    WalArchive.Entry current = entry;
    if (!Files.exists(file)) {
      Files.createFile(file, dev.savepoint.core.internal.OwnerOnly.file()); // decoded WAL: owner-only, as every restore
    }
    for (int attempt = 0; ; attempt++) {
      try (InputStream in = archive.open(current, secrets); OutputStream out = Files.newOutputStream(file)) {
        long n = in.transferTo(out);
        if (current.name().endsWith(".partial")) {
          out.write(new byte[(int) (size - n)]);
        }
        return;
      } catch (dev.savepoint.core.ObjectNotFoundException superseded) {
        if (!partial || attempt == 5) {
          throw superseded;
        }
        current = archive.entry(segment).or(() -> {
          try {
            return archive.entry(segment + ".partial");
          } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
          }
        }).orElseThrow(() -> superseded);
      }
    }
  }

}
