package dev.savepoint.examples;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.savepoint.core.BackupPlan;
import dev.savepoint.core.FilesystemStore;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.Repository;
import dev.savepoint.core.Secrets;
import dev.savepoint.core.Transform;
import dev.savepoint.core.Transforms;
import dev.savepoint.crypto.OpenPgpEncryption;
import dev.savepoint.postgres.PostgresSource;
import dev.savepoint.postgres.PostgresTarget;
import dev.savepoint.postgres.PostgresUrl;
import dev.savepoint.testkit.TestPostgres;
import dev.savepoint.testkit.TrpgDatabase;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Backup and restore speed on the same database in the same run, as ratios against the machine's limit (reading
 * the data on two connections without compression: {@code pg_dump -Fd -j2 -Z0}) and against the best peer
 * ({@code pg_dump | zstd -3 -T2} for backups, {@code pg_restore -j2} for restores), plus the peak heap of this JVM. Not a test: run {@code bash scripts/benchmark.sh [scale]} (scale 1 ≈ 0.3 MB of
 * dump; 6000 ≈ 2 GB). Prints a table and writes {@code savepoint-demo/benchmark.json}.
 */
public final class Benchmark {
  /** {@code timesLimit}, {@code timesPeer}: seconds divided by the limit's and the peer's; null where none applies. */
  record Row(String what, double seconds, long outputBytes, Double timesLimit, Double timesPeer, long peakHeapBytes) {}

  public static void main(String[] args) throws Exception {
    int scale = args.length > 0 ? Integer.parseInt(args[0]) : 6000;
    TestPostgres pg = TestPostgres.shared();
    String db = pg.createDatabase("bench");
    long t0 = System.nanoTime();
    try (Connection c = pg.connect(db)) {
      TrpgDatabase.create(c, scale);
    }
    System.out.printf("generated scale %d in %.1f s%n", scale, (System.nanoTime() - t0) / 1e9);
    PostgresUrl url = PostgresUrl.parse(pg.url(db));
    Path work = Files.createDirectories(Path.of("savepoint-demo", "bench").toAbsolutePath());
    String bin = pg.binDir().map(Path::toString).orElse("/usr/bin");
    String conn = "-h " + pg.host() + " -p " + pg.port() + " -U postgres";
    String passphrase = "benchmark-passphrase";
    List<Row> rows = new ArrayList<>();

    shell("rm -rf " + work + "/limit.dir");
    double limit = shell(bin + "/pg_dump -Fd -j2 -Z0 " + conn + " -f " + work + "/limit.dir " + db);
    rows.add(new Row("pg_dump -Fd -j2 -Z0 (the limit)", limit, size(work.resolve("limit.dir")), 1.0, null, 0));
    double peer = shell(bin + "/pg_dump " + conn + " " + db + " | zstd -3 -T2 -q > " + work + "/shell.sql.zst");
    rows.add(new Row("pg_dump | zstd -3 -T2 (the peer)", peer, Files.size(work.resolve("shell.sql.zst")), peer / limit,
        1.0, 0));
    double gzipShell = shell(bin + "/pg_dump " + conn + " " + db + " | gzip -6 > " + work + "/shell.sql.gz");
    rows.add(new Row("pg_dump | gzip -6", gzipShell, Files.size(work.resolve("shell.sql.gz")), gzipShell / limit,
        gzipShell / peer, 0));
    double gpgShell = shell(bin + "/pg_dump " + conn + " " + db + " | gpg --batch --pinentry-mode loopback --passphrase "
        + passphrase + " --symmetric --cipher-algo AES256 -o - > " + work + "/shell.sql.gpg");
    rows.add(new Row("pg_dump | gpg --symmetric", gpgShell, Files.size(work.resolve("shell.sql.gpg")),
        gpgShell / limit, gpgShell / peer, 0));

    record Variant(PostgresSource.Format format, List<Transform> transforms) {}
    Map<String, Variant> variants = new LinkedHashMap<>();
    variants.put("savepoint pg_dump, zstd-3", new Variant(PostgresSource.Format.PLAIN, List.of(Transforms.zstd())));
    variants.put("savepoint pg_dump, gzip-6", new Variant(PostgresSource.Format.PLAIN, List.of(Transforms.gzip(6))));
    variants.put("savepoint pg_dump, zstd-3 + OpenPGP", new Variant(PostgresSource.Format.PLAIN,
        List.of(Transforms.zstd(), OpenPgpEncryption.passphrase(passphrase.toCharArray()))));
    variants.put("savepoint parallel COPY, zstd-3", new Variant(PostgresSource.Format.PARALLEL,
        List.of(Transforms.zstd())));
    variants.put("savepoint parallel COPY, zstd-1", new Variant(PostgresSource.Format.PARALLEL,
        List.of(Transforms.zstd(1))));
    variants.put("savepoint parallel COPY, zstd-1 + OpenPGP", new Variant(PostgresSource.Format.PARALLEL,
        List.of(Transforms.zstd(1), OpenPgpEncryption.passphrase(passphrase.toCharArray()))));
    Map<PostgresSource.Format, Manifest> firstOfFormat = new LinkedHashMap<>();
    Repository repo = new Repository(new FilesystemStore(work.resolve("repo")));
    for (Map.Entry<String, Variant> v : variants.entrySet()) {
      BackupPlan.Builder b = BackupPlan.builder("bench")
          .source(PostgresSource.builder(url).format(v.getValue().format()).build()).repository(repo);
      v.getValue().transforms().forEach(b::transform);
      BackupPlan plan = b.build();
      resetPeakHeap();
      long start = System.nanoTime();
      Manifest m = plan.run().manifest();
      double s = (System.nanoTime() - start) / 1e9;
      rows.add(new Row(v.getKey(), s, m.storedBytes(), s / limit, s / peer, peakHeap()));
      firstOfFormat.putIfAbsent(v.getValue().format(), m);
    }
    Manifest plain = firstOfFormat.get(PostgresSource.Format.PLAIN);

    // Restore: gunzip | psql into a fresh database vs Savepoint's verified restores of the zstd backups.
    String shellTarget = pg.createDatabase("bench_shell");
    double psqlShell = shell("gunzip -c " + work + "/shell.sql.gz | " + bin + "/psql -q -X " + conn
        + " -v ON_ERROR_STOP=1 --single-transaction -d " + shellTarget + " > /dev/null");
    shell(bin + "/pg_dump -Fc " + conn + " " + db + " > " + work + "/shell.dump");
    String pgRestoreTarget = pg.createDatabase("bench_pgrestore");
    double pgRestore = shell(bin + "/pg_restore -j2 " + conn + " -d " + pgRestoreTarget + " " + work + "/shell.dump");
    rows.add(new Row("gunzip | psql", psqlShell, 0, null, psqlShell / pgRestore, 0));
    rows.add(new Row("pg_restore -j2 (the peer)", pgRestore, 0, null, 1.0, 0));
    List<String> restored = new ArrayList<>();
    for (Map.Entry<PostgresSource.Format, Manifest> backup : firstOfFormat.entrySet()) {
      String target = "bench_savepoint_" + backup.getKey().name().toLowerCase();
      restored.add(target);
      resetPeakHeap();
      long start = System.nanoTime();
      repo.restore(backup.getValue(), PostgresTarget.builder(url.withDatabase(target)).build(), Secrets.none());
      double restore = (System.nanoTime() - start) / 1e9;
      rows.add(new Row("savepoint restore, " + backup.getKey().name().toLowerCase() + " (verified)", restore, 0,
          null, restore / pgRestore, peakHeap()));
    }

    System.out.printf("%n%-44s %9s %14s %8s %8s %10s%n", "step", "seconds", "output bytes", "×limit", "×peer",
        "peak heap");
    for (Row r : rows) {
      System.out.printf("%-44s %9.2f %14d %8s %8s %9.1fM%n", r.what(), r.seconds(), r.outputBytes(), times(r.timesLimit()),
          times(r.timesPeer()), r.peakHeapBytes() / 1048576.0);
    }
    System.out.println("×limit, ×peer: step seconds / the limit's or the peer's (below 1 is faster); raw dump "
        + plain.rawBytes() + " bytes; JVM max heap " + Runtime.getRuntime().maxMemory() / 1048576 + " MB");
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("scale", scale);
    json.put("rawDumpBytes", plain.rawBytes());
    json.put("maxHeapBytes", Runtime.getRuntime().maxMemory());
    json.put("cores", Runtime.getRuntime().availableProcessors());
    json.put("rows", rows);
    Path out = work.getParent().resolve("benchmark.json");
    new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(out.toFile(), json);
    System.out.println("written " + out);
    try (Connection c = pg.connect("postgres"); Statement s = c.createStatement()) {
      restored.addAll(List.of(db, shellTarget, pgRestoreTarget));
      for (String name : restored) {
        s.execute("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
      }
    }
  }

  private static String times(Double ratio) {
    return ratio == null ? "-" : String.format("%.2f", ratio);
  }

  private static long size(Path dir) throws java.io.IOException {
    try (var files = Files.walk(dir)) {
      return files.filter(Files::isRegularFile).mapToLong(f -> f.toFile().length()).sum();
    }
  }

  private static double shell(String command) throws Exception {
    long start = System.nanoTime();
    Process p = new ProcessBuilder("bash", "-o", "pipefail", "-c", command).inheritIO().start();
    if (p.waitFor() != 0) {
      throw new IllegalStateException("failed: " + command);
    }
    return (System.nanoTime() - start) / 1e9;
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
