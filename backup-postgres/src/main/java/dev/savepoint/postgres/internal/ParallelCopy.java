package dev.savepoint.postgres.internal;

import dev.savepoint.core.IntegrityException;
import dev.savepoint.core.SavepointException;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletionService;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorCompletionService;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import org.postgresql.PGConnection;

/**
 * The in-process COPY engine: table data moved with {@code COPY ... TO STDOUT} / {@code FROM STDIN} over JDBC,
 * several tables at once, one connection per worker.
 *
 * <p>Each table's data is one or more self-contained psql scripts (a large table is split between rows) — the
 * layout pg_dump's plain format uses for a table — so each loads without Savepoint with {@code psql -f}:
 *
 * <pre>
 * SET client_encoding = 'UTF8';                      -- SQL_ASCII for SQL_ASCII databases
 * COPY "public"."users" ("id", "name") FROM stdin;
 * ...rows in COPY text format...
 * \.
 * </pre>
 */
public final class ParallelCopy {
  /** A script's first line; the encoding is UTF8, or SQL_ASCII for such databases (their bytes pass unchanged). */
  private static final java.util.regex.Pattern HEADER =
      java.util.regex.Pattern.compile("SET client_encoding = '(UTF8|SQL_ASCII)';");
  /** Table data per script, by default: larger tables are split so a restore loads them on several connections. */
  public static final long PART_BYTES = 128L << 20;
  private static final byte[] TRAILER = "\\.\n".getBytes(StandardCharsets.US_ASCII);
  private static final int MAX_STATEMENT_BYTES = 1 << 20;
  /** A name as PostgreSQL's quote_ident writes it, as a regular expression (no capturing group). */
  public static final String IDENTIFIER = "(?:\"(?:[^\"]|\"\")+\"|[a-z_][a-z0-9_$]*)";
  /**
   * The only statement a table script may run: COPY of quoted identifiers from stdin. Anything else (a second
   * statement, {@code TO PROGRAM}, a function call) is refused, so a script cannot make the server execute
   * anything even when it was written by someone other than Savepoint.
   */
  private static final java.util.regex.Pattern COPY_STATEMENT = java.util.regex.Pattern.compile(
      "COPY " + IDENTIFIER + "\\." + IDENTIFIER + " \\(" + IDENTIFIER + "(?:, " + IDENTIFIER + ")*\\) FROM stdin;");

  /** Workers when none are configured: the number of processors, at least 2 and at most 4. */
  public static final int DEFAULT_JOBS = Math.max(2, Math.min(4, Runtime.getRuntime().availableProcessors()));

  private ParallelCopy() {}

  /** A name as PostgreSQL's quote_ident writes it: as it is when simple, else double-quoted (keywords aside). */
  public static String identifier(String name) {
    return name.matches("[a-z_][a-z0-9_$]*") ? name : "\"" + name.replace("\"", "\"\"") + "\"";
  }

  public static int checkJobs(int jobs) {
    if (jobs < 1) {
      throw new IllegalArgumentException("jobs must be at least 1, was " + jobs);
    }
    return jobs;
  }

  /** One unit of work for a worker: it gets a connection of its own and returns a result. */
  @FunctionalInterface
  public interface Task<T> {
    T run(Connection connection) throws IOException, SQLException;
  }

  /** Opens a worker's connection, ready for its tasks (e.g. inside the exported snapshot). */
  @FunctionalInterface
  public interface ConnectionFactory {
    Connection open() throws IOException, SQLException;
  }

  /** Opens part {@code n} (1-based) of a table's data as a new artifact; closing it completes the artifact. */
  @FunctionalInterface
  public interface Parts {
    OutputStream open(int n) throws IOException;
  }

  /**
   * Writes the rows of {@code table} (quoted {@code schema.table}) as psql scripts of about {@code partBytes}
   * each, split between rows, so that a restore can load one large table on several connections; returns the
   * number of rows. {@code columns} are the quoted names of the stored (non-generated) columns. An empty table
   * still gets one (empty) script.
   */
  public static long copyOut(Connection c, String table, String columns, String encoding, Parts parts, long partBytes)
      throws IOException, SQLException {
    byte[] header = ("SET client_encoding = '" + encoding + "';\nCOPY " + table + " (" + columns + ") FROM stdin;\n")
        .getBytes(StandardCharsets.UTF_8);
    OutputStream split = new OutputStream() {
      private OutputStream part;
      private int number;
      private long written;

      @Override
      public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
      }

      // The driver writes one row per call; in COPY's text format a row ends with its only raw newline.
      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        if (part == null) {
          part = new BufferedOutputStream(parts.open(++number), 1 << 16);
          part.write(header);
          written = 0;
        }
        part.write(b, off, len);
        written += len;
        if (written >= partBytes && len > 0 && b[off + len - 1] == '\n') {
          finishPart();
        }
      }

      @Override
      public void close() throws IOException {
        if (part == null && number == 0) {
          write(new byte[0], 0, 0);
        }
        if (part != null) {
          finishPart();
        }
      }

      private void finishPart() throws IOException {
        part.write(TRAILER);
        part.close();
        part = null;
      }
    };
    long rows = c.unwrap(PGConnection.class).getCopyAPI()
        .copyOut("COPY " + table + " (" + columns + ") TO STDOUT WITH (ENCODING '" + encoding + "')", split);
    split.close();
    return rows;
  }

  /**
   * Loads one script written by {@link #copyOut} from {@code in} and returns the number of rows the server
   * stored. Anything that is not such a script is refused before a byte is loaded.
   */
  public static long copyIn(Connection c, String artifact, InputStream in) throws IOException, SQLException {
    String header = readLine(in, artifact);
    String copy = readLine(in, artifact);
    java.util.regex.Matcher encoding = HEADER.matcher(header);
    if (!encoding.matches() || !COPY_STATEMENT.matcher(copy).matches()) {
      throw new IntegrityException("artifact " + artifact + " is not a table script of the parallel format "
          + "(it starts with '" + abbreviate(header) + "', then '" + abbreviate(copy) + "'); nothing was loaded");
    }
    // The data ends with the "\." line, which COPY's text format treats as the end of the data.
    return c.unwrap(PGConnection.class).getCopyAPI()
        .copyIn(copy.substring(0, copy.length() - 1) + " WITH (ENCODING '" + encoding.group(1) + "')", in, 1 << 16);
  }

  private static String readLine(InputStream in, String artifact) throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    int b;
    while ((b = in.read()) != '\n') {
      if (b < 0 || line.size() > MAX_STATEMENT_BYTES) {
        throw new IntegrityException("artifact " + artifact + " ends or runs on before its COPY statement");
      }
      line.write(b);
    }
    return line.toString(StandardCharsets.UTF_8);
  }

  private static String abbreviate(String s) {
    return s.length() > 40 ? s.substring(0, 40) + "..." : s;
  }

  /**
   * Runs {@code tasks} on {@code workers} threads, each with its own connection from {@code connections},
   * tasks taken in the given order (put the largest first). The first failure aborts every connection, so
   * running COPYs stop at once, and is thrown as it was; an interrupt of the caller does the same.
   */
  public static <T> List<T> run(List<? extends Task<T>> tasks, int workers, ConnectionFactory connections)
      throws IOException, SQLException {
    LinkedBlockingQueue<Integer> queue = new LinkedBlockingQueue<>();
    for (int i = 0; i < tasks.size(); i++) {
      queue.add(i);
    }
    List<T> results = Collections.synchronizedList(new ArrayList<>(Collections.nCopies(tasks.size(), null)));
    List<Connection> open = Collections.synchronizedList(new ArrayList<>());
    int threads = Math.max(1, Math.min(workers, tasks.size()));
    ExecutorService pool = Executors.newFixedThreadPool(threads,
        dev.savepoint.core.internal.DaemonThreads.numbered("savepoint-copy"));
    // Workers are awaited in the order they finish, so the first failure stops the others at once.
    CompletionService<Void> done = new ExecutorCompletionService<>(pool);
    for (int w = 0; w < threads; w++) {
      done.submit(() -> {
        try (Connection c = connections.open()) {
          open.add(c);
          Integer next;
          while ((next = queue.poll()) != null) {
            results.set(next, tasks.get(next).run(c));
          }
        }
        return null;
      });
    }
    pool.shutdown();
    try {
      for (int w = 0; w < threads; w++) {
        done.take().get();
      }
      return new ArrayList<>(results);
    } catch (ExecutionException e) {
      abort(open, queue);
      awaitWorkers(pool);
      Throwable cause = e.getCause();
      if (cause instanceof IOException io) {
        throw io;
      }
      if (cause instanceof SQLException sql) {
        throw sql;
      }
      if (cause instanceof RuntimeException re) {
        throw re;
      }
      throw new SavepointException(String.valueOf(cause), cause);
    } catch (InterruptedException e) {
      abort(open, queue);
      awaitWorkers(pool);
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted; table copies stopped");
    } finally {
      pool.shutdownNow();
    }
  }

  /**
   * After a failure: gives the other workers, whose connections were just aborted, a moment to stop, so that
   * the caller's cleanup does not race them. Bounded: a worker stuck in an external tool is left behind.
   */
  private static void awaitWorkers(ExecutorService pool) {
    pool.shutdownNow();
    try {
      pool.awaitTermination(10, java.util.concurrent.TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void abort(List<Connection> open, LinkedBlockingQueue<Integer> queue) {
    queue.clear();
    synchronized (open) {
      for (Connection c : open) {
        try {
          c.abort(Runnable::run);
        } catch (SQLException | RuntimeException ignored) {
          // Best effort: the connection is being discarded.
        }
      }
    }
  }
}
