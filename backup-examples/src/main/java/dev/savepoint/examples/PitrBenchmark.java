package dev.savepoint.examples;

import dev.savepoint.core.BackupPlan;
import dev.savepoint.core.Repository;
import dev.savepoint.core.Secrets;
import dev.savepoint.core.Transforms;
import dev.savepoint.core.store.FilesystemStore;
import dev.savepoint.postgres.PostgresUrl;
import dev.savepoint.postgres.pitr.BaseBackupSource;
import dev.savepoint.postgres.pitr.LocalCluster;
import dev.savepoint.postgres.pitr.PointInTimeRestore;
import dev.savepoint.postgres.pitr.WalArchive;
import dev.savepoint.postgres.pitr.WalSegment;
import dev.savepoint.postgres.pitr.WalStreamer;
import dev.savepoint.testkit.TestPostgres;
import dev.savepoint.testkit.TrpgDatabase;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Point-in-time recovery against PostgreSQL's own tools, on one dedicated cluster in one run: the WAL of loading the
 * tabletop-RPG database (text that compresses like chat) streamed by {@code pg_receivewal} into a directory and by
 * Savepoint's {@link WalStreamer} (zstd, file repository) from slots reserved at the same point; then the same
 * cluster recovered from {@code pg_basebackup} + {@code restore_command = 'cp …'} and from Savepoint's base backup
 * and WAL. Argument: data scale (default 750). Run with {@code bash scripts/benchmark.sh pitr [scale]}.
 */
public final class PitrBenchmark {
  private PitrBenchmark() {}

  public static void main(String[] args) throws Exception {
    int scale = args.length > 0 ? Integer.parseInt(args[0]) : 750;
    Path work = Files.createTempDirectory("savepoint-pitr-bench-");
    exec("chmod", "777", work.toString());
    List<String[]> rows = new ArrayList<>();
    try (TestPostgres server = TestPostgres.dedicated("max_wal_size=4GB")) {
      PostgresUrl url = PostgresUrl.parse(server.url("postgres"));
      String bin = server.binDir().orElseThrow().toString();
      String db = server.createDatabase("bench");
      Repository repo = new Repository(new FilesystemStore(work.resolve("repo")));
      server.execute("postgres", "SELECT pg_create_physical_replication_slot('savepoint_bench', true)",
          "SELECT pg_create_physical_replication_slot('receivewal_bench', true)");
      long from = WalSegment.parseLsn(server.single("postgres",
          "SELECT restart_lsn::text FROM pg_replication_slots WHERE slot_name = 'savepoint_bench'"));

      Instant t = Instant.now();
      BackupPlan.builder("cluster").source(new BaseBackupSource(url)).transform(Transforms.zstd()).repository(repo)
          .build().run();
      double spBase = seconds(t);
      t = Instant.now();
      asPostgres(bin + "/pg_basebackup", "-h", "127.0.0.1", "-p", Integer.toString(server.port()), "-U", "postgres",
          "-D", work.resolve("peer").toString(), "-X", "none", "--checkpoint=fast");
      double peerBase = seconds(t);

      t = Instant.now();
      try (Connection c = server.connect(db)) {
        TrpgDatabase.create(c, scale);
      }
      double load = seconds(t);
      long end = WalSegment.parseLsn(server.single("postgres", "SELECT pg_current_wal_lsn()::text"));
      server.execute("postgres", "SELECT pg_switch_wal()");
      double mib = (end - from) / 1048576.0;
      System.out.printf("loaded scale %d in %.1f s: %.0f MiB of WAL to archive%n", scale, load, mib);

      Path receivewal = Files.createDirectory(work.resolve("receivewal"));
      exec("chown", "postgres:postgres", receivewal.toString());
      t = Instant.now();
      asPostgres(bin + "/pg_receivewal", "-h", "127.0.0.1", "-p", Integer.toString(server.port()), "-U", "postgres",
          "-D", work.resolve("receivewal").toString(), "-S", "receivewal_bench", "--endpos=" + WalSegment.lsn(end),
          "--no-loop");
      double receive = seconds(t);

      WalArchive archive = new WalArchive(repo, "cluster", List.of(Transforms.zstd()));
      WalStreamer streamer = new WalStreamer(url, archive, "savepoint_bench", Duration.ofMinutes(10));
      Thread streaming = new Thread(streamer, "bench-wal-streamer");
      t = Instant.now();
      streaming.start();
      while (streamer.durableLsn() < end) {
        if (streamer.failure() != null) {
          throw streamer.failure();
        }
        Thread.sleep(20);
      }
      double stream = seconds(t);
      streamer.close();
      streaming.join();

      // Restores to the newest WAL: PostgreSQL's tools (the .partial renamed, as by hand), then Savepoint's.
      try (Stream<Path> files = Files.list(receivewal)) {
        for (Path p : files.filter(p -> p.toString().endsWith(".partial")).toList()) {
          Files.move(p, receivewal.resolve(p.getFileName().toString().replace(".partial", "")));
        }
      }
      Path peer = work.resolve("peer");
      Files.writeString(peer.resolve("postgresql.auto.conf"), "restore_command = 'cp " + receivewal + "/%f %p'\n",
          java.nio.file.StandardOpenOption.APPEND);
      Files.createFile(peer.resolve("recovery.signal"));
      exec("chown", "-R", "postgres:postgres", peer.toString(), receivewal.toString());
      t = Instant.now();
      LocalCluster.verifyRecovery(peer, 15, Duration.ofMinutes(60));
      double peerRecover = seconds(t);

      t = Instant.now();
      PointInTimeRestore.Result r = new PointInTimeRestore(repo, "cluster").restore(null, work.resolve("restored"),
          Secrets.none());
      double fetch = seconds(t);
      t = Instant.now();
      LocalCluster.verifyRecovery(r.directory(), r.serverMajor(), Duration.ofMinutes(60));
      double recover = seconds(t);

      rows.add(row("base backup: pg_basebackup -X none into a directory (peer)", peerBase, "", ""));
      rows.add(row("base backup: Savepoint basebackup, zstd, into the repository", spBase, "",
          ratio(spBase, peerBase)));
      rows.add(row("WAL: pg_receivewal into a directory (peer)", receive, rate(mib, receive), ""));
      rows.add(row("WAL: Savepoint WalStreamer, zstd, file repository", stream, rate(mib, stream),
          ratio(stream, receive)));
      rows.add(row("restore: cp restore_command, recover, promote (peer)", peerRecover, "", ""));
      rows.add(row("restore: Savepoint fetch base + WAL (verified digests)", fetch, "", ""));
      rows.add(row("restore: Savepoint recover, promote", recover, "", ""));
      rows.add(row("restore: Savepoint total", fetch + recover, "", ratio(fetch + recover, peerRecover)));
      System.out.printf("%n| step | s | MiB/s | × peer |%n|---|---|---|---|%n");
      for (String[] row : rows) {
        System.out.printf("| %s | %s | %s | %s |%n", (Object[]) row);
      }
      System.out.printf("%nWAL %.0f MiB; stored by Savepoint %.0f MiB (zstd); pg_receivewal %.0f MiB; peak heap %d MiB%n",
          mib, size(work.resolve("repo/cluster/wal")) / 1048576.0, size(receivewal) / 1048576.0, peakHeapMiB());
    } finally {
      exec("rm", "-rf", work.toString());
    }
  }

  private static String[] row(String step, double s, String rate, String ratio) {
    return new String[] {step, String.format("%.1f", s), rate, ratio};
  }

  private static String rate(double mib, double s) {
    return String.format("%.0f", mib / s);
  }

  private static String ratio(double s, double peer) {
    return String.format("%.2f", s / peer);
  }

  private static double seconds(Instant since) {
    return Duration.between(since, Instant.now()).toMillis() / 1000.0;
  }

  private static long size(Path dir) throws java.io.IOException {
    try (Stream<Path> files = Files.walk(dir)) {
      return files.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
    }
  }

  private static long peakHeapMiB() {
    long peak = 0;
    for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
      if (pool.getType() == MemoryType.HEAP) {
        peak += pool.getPeakUsage().getUsed();
      }
    }
    return peak >> 20;
  }

  private static void asPostgres(String... command) throws Exception {
    List<String> cmd = new ArrayList<>();
    if ("root".equals(System.getProperty("user.name"))) {
      cmd.addAll(List.of("runuser", "-u", "postgres", "--"));
    }
    cmd.addAll(List.of(command));
    exec(cmd.toArray(String[]::new));
  }

  private static void exec(String... command) throws Exception {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    if (p.waitFor() != 0) {
      throw new IllegalStateException(String.join(" ", command) + " failed: " + out);
    }
  }
}
