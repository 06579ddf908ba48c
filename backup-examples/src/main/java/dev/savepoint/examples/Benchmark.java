package dev.savepoint.examples;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.savepoint.core.BackupPlan;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.Repository;
import dev.savepoint.core.Secrets;
import dev.savepoint.core.Transform;
import dev.savepoint.core.Transforms;
import dev.savepoint.core.store.FilesystemStore;
import dev.savepoint.crypto.OpenPgpEncryption;
import dev.savepoint.postgres.PostgresSource;
import dev.savepoint.postgres.PostgresTarget;
import dev.savepoint.postgres.PostgresUrl;
import dev.savepoint.testkit.TestPostgres;
import dev.savepoint.testkit.TrpgDatabase;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Backup and restore speed on the same database in the same run, as ratios against the machine's limit (reading
 * the data on two connections without compression: {@code pg_dump -Fd -j2 -Z0}) and against the best peer
 * ({@code pg_dump | zstd -3 -T2} for backups, {@code pg_restore -j2} from a directory-format dump for restores),
 * with the CPU seconds each step spent in the client (this JVM, or the shell pipeline's processes) and in the
 * PostgreSQL server, the peak heap of this JVM, and the CPU seconds of each stage of Savepoint's encode chain
 * measured alone over the same dump. The data is {@link TrpgDatabase.Text#CHAT chat-like text} (gzip about
 * 3:1). Not a test: run {@code bash scripts/benchmark.sh [scale ...]} (scale 1 ≈ 0.5 MB of dump; the default
 * runs 1000 and 4000, about 0.5 and 2 GB, to show time growing linearly and heap staying flat). Prints a table
 * per scale and writes {@code savepoint-demo/benchmark.json}.
 */
public final class Benchmark {
  /**
   * {@code timesLimit}, {@code timesPeer}: seconds divided by the limit's and the peer's (null where none applies);
   * {@code clientCpu}, {@code serverCpu}: CPU seconds of the client processes and of the PostgreSQL server.
   */
  record Row(String what, double seconds, long outputBytes, Double timesLimit, Double timesPeer, double clientCpu,
      double serverCpu, long peakHeapBytes) {}

  record Run(int scale, long rawDumpBytes, double gzipRatio, List<Row> rows, Map<String, Double> stageCpu,
      Map<String, Object> restorePhases) {}

  private static final String PASSPHRASE = "benchmark-passphrase";

  public static void main(String[] args) throws Exception {
    List<Integer> scales = new ArrayList<>();
    for (String a : args.length > 0 ? args : new String[] {"1000", "4000"}) {
      scales.add(Integer.parseInt(a));
    }
    List<Run> runs = new ArrayList<>();
    for (int scale : scales) {
      Run run = run(scale);
      runs.add(run);
      print(run);
    }
    if (runs.size() > 1) {
      System.out.printf("%nlinearity: seconds per GB of dump (and peak heap) at each scale%n");
      for (int i = 0; i < runs.get(0).rows().size(); i++) {
        StringBuilder line = new StringBuilder(String.format("%-46s", runs.get(0).rows().get(i).what()));
        for (Run r : runs) {
          Row row = r.rows().get(i);
          line.append(String.format(" %8.2f s/GB", row.seconds() / (r.rawDumpBytes() / 1e9)));
          line.append(row.peakHeapBytes() > 0 ? String.format(" %6.1fM", row.peakHeapBytes() / 1048576.0) : "        ");
        }
        System.out.println(line);
      }
    }
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("maxHeapBytes", Runtime.getRuntime().maxMemory());
    json.put("cores", Runtime.getRuntime().availableProcessors());
    json.put("runs", runs);
    Path out = Path.of("savepoint-demo", "benchmark.json").toAbsolutePath();
    new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(out.toFile(), json);
    System.out.println("written " + out);
  }

  private static Run run(int scale) throws Exception {
    TestPostgres pg = TestPostgres.shared();
    String db = pg.createDatabase("bench");
    long t0 = System.nanoTime();
    try (Connection c = pg.connect(db)) {
      TrpgDatabase.create(c, scale, TrpgDatabase.Text.CHAT);
      try (Statement s = c.createStatement()) {
        s.execute("VACUUM ANALYZE");
        // Autovacuum waking up on what an earlier step restored would steal CPU from a later one, at random.
        s.execute("ALTER SYSTEM SET autovacuum = off");
        s.execute("SELECT pg_reload_conf()");
      }
    }
    System.out.printf("generated scale %d in %.1f s%n", scale, (System.nanoTime() - t0) / 1e9);
    PostgresUrl url = PostgresUrl.parse(pg.url(db));
    Path work = Files.createDirectories(Path.of("savepoint-demo", "bench").toAbsolutePath());
    Shell sh = new Shell(pg, work);
    List<Row> rows = new ArrayList<>();

    sh.run("rm -rf limit.dir");
    Row limitRow = sh.measure("pg_dump -Fd -j2 -Z0 (the limit)", "pg_dump -Fd -j2 -Z0 " + sh.conn + " -f limit.dir " + db);
    double limit = limitRow.seconds();
    rows.add(new Row(limitRow.what(), limit, size(work.resolve("limit.dir")), 1.0, null, limitRow.clientCpu(),
        limitRow.serverCpu(), 0));
    Row devNull = sh.measure("pg_dump > /dev/null", "pg_dump " + sh.conn + " " + db + " > /dev/null");
    rows.add(ratios(devNull, 0, limit, 0));
    Row peerRow = sh.measure("pg_dump | zstd -3 -T2 (the peer)",
        "pg_dump " + sh.conn + " " + db + " | zstd -3 -T2 -q > shell.sql.zst");
    double peer = peerRow.seconds();
    rows.add(ratios(peerRow, Files.size(work.resolve("shell.sql.zst")), limit, peer));
    Row gzipRow = sh.measure("pg_dump | gzip -6 (the seed)", "pg_dump " + sh.conn + " " + db + " | gzip -6 > shell.sql.gz");
    long gzipBytes = Files.size(work.resolve("shell.sql.gz"));
    rows.add(ratios(gzipRow, gzipBytes, limit, peer));

    record Variant(PostgresSource.Format format, List<Transform> transforms) {}
    Map<String, Variant> variants = new LinkedHashMap<>();
    variants.put("savepoint pg_dump, zstd-3", new Variant(PostgresSource.Format.PLAIN, List.of(Transforms.zstd())));
    variants.put("savepoint parallel, zstd-3", new Variant(PostgresSource.Format.PARALLEL, List.of(Transforms.zstd())));
    variants.put("savepoint parallel, zstd-3 + OpenPGP", new Variant(PostgresSource.Format.PARALLEL,
        List.of(Transforms.zstd(), OpenPgpEncryption.passphrase(PASSPHRASE.toCharArray()))));
    variants.put("savepoint parallel, zstd-1 + OpenPGP", new Variant(PostgresSource.Format.PARALLEL,
        List.of(Transforms.zstd(1), OpenPgpEncryption.passphrase(PASSPHRASE.toCharArray()))));
    Map<PostgresSource.Format, Manifest> firstOfFormat = new LinkedHashMap<>();
    Path repoDir = work.resolve("repo");
    sh.run("rm -rf repo");
    Repository repo = new Repository(new FilesystemStore(repoDir));
    for (Map.Entry<String, Variant> v : variants.entrySet()) {
      BackupPlan.Builder b = BackupPlan.builder("bench")
          .source(PostgresSource.builder(url).format(v.getValue().format()).build()).repository(repo);
      v.getValue().transforms().forEach(b::transform);
      BackupPlan plan = b.build();
      Cpu cpu = Cpu.start(pg);
      Manifest m = plan.run().manifest();
      rows.add(ratios(cpu.row(v.getKey()), m.storedBytes(), limit, peer));
      firstOfFormat.putIfAbsent(v.getValue().format(), m);
    }
    long rawDump = firstOfFormat.get(PostgresSource.Format.PLAIN).rawBytes();

    String shellTarget = pg.createDatabase("bench_shell");
    Row psql = sh.measure("gunzip | psql (the seed)", "gunzip -c shell.sql.gz | psql -q -X " + sh.conn
        + " -v ON_ERROR_STOP=1 --single-transaction -d " + shellTarget + " > /dev/null");
    String pgRestoreTarget = pg.createDatabase("bench_pgrestore");
    Row pgRestoreRow = sh.measure("pg_restore -j2 -Fd (the peer)", "pg_restore -j2 " + sh.conn + " -d "
        + pgRestoreTarget + " limit.dir");
    double pgRestore = pgRestoreRow.seconds();
    rows.add(ratios(psql, 0, 0, pgRestore));
    rows.add(ratios(pgRestoreRow, 0, 0, pgRestore));
    List<String> restored = new ArrayList<>();
    Map<String, Object> restorePhases = new LinkedHashMap<>();
    for (Map.Entry<PostgresSource.Format, Manifest> backup : firstOfFormat.entrySet()) {
      String target = "bench_savepoint_" + backup.getKey().name().toLowerCase();
      restored.add(target);
      Cpu cpu = Cpu.start(pg);
      Repository.RestoreResult result = repo.restore(backup.getValue(),
          PostgresTarget.builder(url.withDatabase(target)).build(), Secrets.none());
      restorePhases.put(backup.getKey().name().toLowerCase(), result.facts().get("phaseSeconds"));
      rows.add(ratios(cpu.row("savepoint restore, " + backup.getKey().name().toLowerCase() + " (verified)"), 0, 0,
          pgRestore));
    }
    Map<String, Double> stages = stageCpu(work.resolve("shell.sql.zst"));
    try (Connection c = pg.connect("postgres"); Statement s = c.createStatement()) {
      restored.addAll(List.of(db, shellTarget, pgRestoreTarget));
      for (String name : restored) {
        s.execute("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
      }
    }
    return new Run(scale, rawDump, (double) rawDump / gzipBytes, rows, stages, restorePhases);
  }

  private static Row ratios(Row r, long outputBytes, double limit, double peer) {
    return new Row(r.what(), r.seconds(), outputBytes, limit > 0 ? r.seconds() / limit : null,
        peer > 0 ? r.seconds() / peer : null, r.clientCpu(), r.serverCpu(), r.peakHeapBytes());
  }

  private static void print(Run run) {
    System.out.printf("%nscale %d: raw dump %.2f GB, gzip -6 ratio %.2f:1, JVM max heap %d MB, %d cores%n",
        run.scale(), run.rawDumpBytes() / 1e9, run.gzipRatio(), Runtime.getRuntime().maxMemory() / 1048576,
        Runtime.getRuntime().availableProcessors());
    System.out.printf("%-46s %8s %14s %7s %7s %10s %10s %10s%n", "step", "seconds", "output bytes", "×limit", "×peer",
        "client cpu", "server cpu", "peak heap");
    for (Row r : run.rows()) {
      System.out.printf("%-46s %8.2f %14s %7s %7s %10.2f %10.2f %10s%n", r.what(), r.seconds(),
          r.outputBytes() > 0 ? String.valueOf(r.outputBytes()) : "-", times(r.timesLimit()), times(r.timesPeer()),
          r.clientCpu(), r.serverCpu(), r.peakHeapBytes() > 0 ? String.format("%.1fM", r.peakHeapBytes() / 1048576.0) : "-");
    }
    System.out.println("×limit, ×peer: seconds / the limit's or the peer's (below 1 is faster); cpu: CPU seconds"
        + " (user + system) of the client processes (this JVM, or the shell pipeline) and of the PostgreSQL server");
    System.out.printf("encode stages alone over the same dump, one thread (CPU s): %s%n", run.stageCpu());
    System.out.printf("savepoint restore phases (wall s): %s%n", run.restorePhases());
  }

  private static String times(Double ratio) {
    return ratio == null ? "-" : String.format("%.2f", ratio);
  }

  /**
   * CPU seconds of each stage of the encode chain of a {@code parallel, zstd-3 + OpenPGP} backup, measured alone
   * on one thread over the plain dump (decompressed from the peer's output): what the wall time is made of.
   */
  private static Map<String, Double> stageCpu(Path zstdDump) throws Exception {
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    Process unzstd = new ProcessBuilder("zstd", "-dc", "-q", zstdDump.toString()).start();
    MessageDigest raw = MessageDigest.getInstance("SHA-256");
    MessageDigest chunks = MessageDigest.getInstance("SHA-256");
    MessageDigest stored = MessageDigest.getInstance("SHA-256");
    long[] storedCpu = new long[1];
    OutputStream storedSink = new OutputStream() {
      @Override
      public void write(int b) {
        write(new byte[] {(byte) b}, 0, 1);
      }

      @Override
      public void write(byte[] b, int off, int len) {
        long t = threads.getCurrentThreadCpuTime();
        stored.update(b, off, len);
        storedCpu[0] += threads.getCurrentThreadCpuTime() - t;
      }
    };
    Timed pgp = new Timed(OpenPgpEncryption.passphrase(PASSPHRASE.toCharArray()).wrap(storedSink), threads);
    Timed zstd = new Timed(Transforms.zstd(3, 0).wrap(pgp), threads); // no workers: all its CPU on this thread
    long rawCpu = 0;
    long readCpu = 0;
    try (InputStream in = unzstd.getInputStream()) {
      byte[] buffer = new byte[1 << 16];
      while (true) {
        long t = threads.getCurrentThreadCpuTime();
        int n = in.read(buffer);
        long t1 = threads.getCurrentThreadCpuTime();
        readCpu += t1 - t;
        if (n < 0) {
          break;
        }
        raw.update(buffer, 0, n);
        chunks.update(buffer, 0, n);
        rawCpu += threads.getCurrentThreadCpuTime() - t1;
        zstd.write(buffer, 0, n);
      }
      zstd.close();
    }
    unzstd.waitFor();
    Map<String, Double> result = new LinkedHashMap<>();
    result.put("raw SHA-256 ×2 (whole + chunks)", rawCpu / 1e9);
    result.put("zstd-3", (zstd.nanos - pgp.nanos) / 1e9);
    result.put("OpenPGP (AES-256 + MDC)", (pgp.nanos - storedCpu[0]) / 1e9);
    result.put("stored SHA-256", storedCpu[0] / 1e9);
    result.put("reading a pipe", readCpu / 1e9);
    return result;
  }

  /** Counts the CPU time of this thread spent in the wrapped stream (and what it writes to). */
  private static final class Timed extends OutputStream {
    private final OutputStream out;
    private final ThreadMXBean threads;
    long nanos;

    Timed(OutputStream out, ThreadMXBean threads) {
      this.out = out;
      this.threads = threads;
    }

    @Override
    public void write(int b) throws IOException {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      long t = threads.getCurrentThreadCpuTime();
      out.write(b, off, len);
      nanos += threads.getCurrentThreadCpuTime() - t;
    }

    @Override
    public void close() throws IOException {
      long t = threads.getCurrentThreadCpuTime();
      out.close();
      nanos += threads.getCurrentThreadCpuTime() - t;
    }
  }

  /** Wall time, CPU of this JVM and of the server, and peak heap of one in-process step. */
  private record Cpu(TestPostgres pg, long startNanos, long jvmCpu, long serverCpu) {
    static Cpu start(TestPostgres pg) throws IOException {
      resetPeakHeap();
      return new Cpu(pg, System.nanoTime(), jvmCpuNanos(), serverCpuTicks(pg));
    }

    Row row(String what) throws IOException {
      double seconds = (System.nanoTime() - startNanos) / 1e9;
      return new Row(what, seconds, 0, null, null, (jvmCpuNanos() - jvmCpu) / 1e9,
          (serverCpuTicks(pg) - serverCpu) / (double) TICKS, peakHeap());
    }

    private static long jvmCpuNanos() {
      return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
          .getProcessCpuTime();
    }
  }

  /** Clock ticks per second of /proc's times (USER_HZ, 100 on Linux). */
  private static final int TICKS = 100;

  /**
   * CPU ticks used by the server so far: its live processes plus what its postmaster collected from the backends
   * that ended (their times move into its cutime/cstime when they are reaped).
   */
  private static long serverCpuTicks(TestPostgres pg) throws IOException {
    long ticks = 0;
    try (var procs = Files.list(Path.of("/proc"))) {
      for (Path p : (Iterable<Path>) procs.filter(d -> d.getFileName().toString().matches("\\d+"))::iterator) {
        String stat;
        try {
          stat = Files.readString(p.resolve("stat"));
        } catch (IOException gone) {
          continue;
        }
        String comm = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        if (!comm.equals("postgres")) {
          continue;
        }
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        // fields after comm: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
        ticks += Long.parseLong(f[11]) + Long.parseLong(f[12]);
        if (!"postgres".equals(commOf(f[1]))) { // the postmaster: its parent is not a server process
          ticks += Long.parseLong(f[13]) + Long.parseLong(f[14]);
        }
      }
    }
    return ticks;
  }

  private static String commOf(String pid) {
    try {
      String stat = Files.readString(Path.of("/proc", pid, "stat"));
      return stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    } catch (IOException e) {
      return "";
    }
  }

  /** Runs shell pipelines in the work directory with the server's binaries on the PATH, timing them. */
  private static final class Shell {
    final TestPostgres pg;
    final Path work;
    final String conn;
    final String path;

    Shell(TestPostgres pg, Path work) {
      this.pg = pg;
      this.work = work;
      this.conn = "-h " + pg.host() + " -p " + pg.port() + " -U postgres";
      this.path = pg.binDir().map(Path::toString).orElse("/usr/bin") + ":" + System.getenv("PATH");
    }

    void run(String command) throws Exception {
      measure(command, command);
    }

    /** Wall seconds, the pipeline's CPU (bash's {@code times} of its children) and the server's CPU. */
    Row measure(String what, String command) throws Exception {
      long server = serverCpuTicks(pg);
      long start = System.nanoTime();
      Path times = Files.createTempFile("times", ".txt");
      ProcessBuilder b = new ProcessBuilder("bash", "-o", "pipefail", "-c",
          command + "; rc=$?; times > " + times + "; exit $rc").directory(work.toFile()).inheritIO();
      b.environment().put("PATH", path);
      Process p = b.start();
      if (p.waitFor() != 0) {
        throw new IllegalStateException("failed: " + command);
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      double serverCpu = (serverCpuTicks(pg) - server) / (double) TICKS;
      List<String> lines = Files.readAllLines(times);
      Files.delete(times);
      double clientCpu = 0;
      for (String part : lines.get(lines.size() - 1).trim().split("\\s+")) { // children: "0m1.234s 0m0.456s"
        clientCpu += Double.parseDouble(part.substring(0, part.indexOf('m'))) * 60
            + Double.parseDouble(part.substring(part.indexOf('m') + 1, part.length() - 1));
      }
      return new Row(what, seconds, 0, null, null, clientCpu, serverCpu, 0);
    }
  }

  private static long size(Path dir) throws IOException {
    try (var files = Files.walk(dir)) {
      return files.filter(Files::isRegularFile).mapToLong(f -> f.toFile().length()).sum();
    }
  }

  private static void resetPeakHeap() {
    System.gc();
    for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
      if (pool.getType() == MemoryType.HEAP) {
        pool.resetPeakUsage();
      }
    }
  }

  private static long peakHeap() {
    long total = 0;
    for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
      if (pool.getType() == MemoryType.HEAP) {
        total += pool.getPeakUsage().getUsed();
      }
    }
    return total;
  }
}
