package dev.savepoint.cli;

import dev.savepoint.core.Repository;
import dev.savepoint.postgres.PostgresUrl;
import dev.savepoint.postgres.pitr.PointInTimeRestore;
import dev.savepoint.postgres.pitr.WalArchive;
import dev.savepoint.postgres.pitr.WalStreamer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** WAL archiving for point-in-time recovery: stream, push (archive_command) and verify. */
@Command(name = "wal", description = "WAL archiving for point-in-time recovery.",
    subcommands = {WalCommand.Stream.class, WalCommand.Push.class, WalCommand.PushServer.class,
        WalCommand.Verify.class, WalCommand.Check.class})
final class WalCommand {
  @Command(name = "stream", description = "Stream WAL over a physical replication slot into the repository until "
      + "SIGTERM (RPO: the flush interval). Creates the slot (default savepoint_<plan>) when missing.")
  static final class Stream implements Callable<Integer> {
    @Mixin
    WalArchiveOptions wal;

    @Option(names = "--source", required = true, paramLabel = "<postgresql-url>",
        description = "The cluster, as a role with REPLICATION.")
    String source;

    @Option(names = "--slot", paramLabel = "<name>", description = "Physical replication slot (default savepoint_<plan>).")
    String slot;

    @Option(names = "--flush-interval", defaultValue = "PT10S", paramLabel = "<ISO duration>",
        description = "How often the segment being written is stored as .partial (default: ${DEFAULT-VALUE}).")
    Duration flushInterval;

    @Override
    public Integer call() throws Exception {
      String slotName = slot != null ? slot : "savepoint_" + wal.plan.toLowerCase().replaceAll("[^a-z0-9_]", "_");
      WalStreamer streamer = new WalStreamer(PostgresUrl.parse(source), wal.archive(), slotName, flushInterval);
      Runtime.getRuntime().addShutdownHook(new Thread(streamer::close));
      Thread reader = new Thread(streamer, "savepoint-wal-stream");
      reader.start();
      // Said once the slot exists and the stream runs: base backups taken from now on are covered.
      String from;
      while ((from = streamer.awaitStreaming(Duration.ofSeconds(1))) == null && reader.isAlive()) {
        // still connecting
      }
      if (from != null) {
        System.err.printf("streaming WAL of %s (slot %s) into plan '%s'; stop with SIGTERM%n", from, slotName,
            wal.plan);
      }
      reader.join();
      if (streamer.failure() != null) {
        throw streamer.failure();
      }
      return Main.OK;
    }
  }

  @Command(name = "push", description = "Archive one WAL file, for archive_command = 'savepoint wal push --repo … "
      + "--plan … %%p': exits 0 only once it is durable; the same file again is 0, other content is an error.")
  static final class Push implements Callable<Integer> {
    @Mixin
    WalArchiveOptions wal;

    @Parameters(index = "0", paramLabel = "<wal-file>", description = "The file (%%p).")
    Path file;

    @Override
    public Integer call() throws Exception {
      byte[] data = Files.readAllBytes(file);
      wal.archive().store(file.getFileName().toString(), data, data.length);
      return Main.OK;
    }
  }

  @Command(name = "push-server", description = "Archive WAL files handed over by archive_command without a JVM per "
      + "file: listens on 127.0.0.1 and stores each file named by POST /push?file=<name> from --wal-dir, answering "
      + "200 only once it is durable, and only to a client that sends the token of --token-file (401 otherwise). "
      + "archive_command = 'curl -fsS -X POST -H \"X-Savepoint-Token: $(cat /etc/savepoint/wal-push-token)\" "
      + "\"http://127.0.0.1:7979/push?file=%%f\"'. Runs until SIGTERM.")
  static final class PushServer implements Callable<Integer> {
    @Mixin
    WalArchiveOptions wal;

    @Option(names = "--wal-dir", required = true, paramLabel = "<dir>",
        description = "The server's pg_wal directory: only files directly in it are read.")
    Path walDir;

    @Option(names = "--port", defaultValue = "7979", description = "Port on 127.0.0.1 (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--token-file", paramLabel = "<file>", description = "A file holding the token (at least 32 "
        + "characters, e.g. openssl rand -hex 32) clients send as X-Savepoint-Token; make it readable by the server's "
        + "OS user only. Every other user of the machine can reach 127.0.0.1.")
    Path tokenFile;

    @Option(names = "--insecure-no-token", description = "Accept pushes from anyone who can reach 127.0.0.1 on this "
        + "machine (any local user could then archive a segment still being written and stop archiving).")
    boolean insecureNoToken;

    /** The token clients must send, or null with --insecure-no-token. */
    private byte[] token() throws Exception {
      if (tokenFile == null) {
        if (!insecureNoToken) {
          throw new dev.savepoint.core.ConfigurationException("wal push-server needs --token-file (a token "
              + "archive_command sends as X-Savepoint-Token), or --insecure-no-token to accept every local user");
        }
        System.err.println("savepoint: warning: the push server accepts every local user (--insecure-no-token)");
        return null;
      }
      String text;
      try {
        text = Files.readString(tokenFile).strip();
      } catch (java.io.IOException e) {
        throw new dev.savepoint.core.ConfigurationException("cannot read --token-file " + tokenFile + ": "
            + e.getMessage());
      }
      if (text.length() < 32) {
        throw new dev.savepoint.core.ConfigurationException("the token in " + tokenFile + " is shorter than 32 "
            + "characters");
      }
      return text.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    @Override
    public Integer call() throws Exception {
      byte[] token = token();
      WalArchive archive = wal.archive();
      Path dir = walDir.toAbsolutePath().normalize();
      com.sun.net.httpserver.HttpServer server = com.sun.net.httpserver.HttpServer.create(
          new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), port), 16);
      server.createContext("/push", exchange -> {
        int status;
        String answer;
        String query = exchange.getRequestURI().getQuery();
        String name = query != null && query.startsWith("file=") ? query.substring(5) : "";
        String sent = exchange.getRequestHeaders().getFirst("X-Savepoint-Token");
        if (token != null && (sent == null || !java.security.MessageDigest.isEqual(token,
            sent.strip().getBytes(java.nio.charset.StandardCharsets.UTF_8)))) {
          status = 401;
          answer = "send the push server's token as X-Savepoint-Token\n";
        } else if (!exchange.getRequestMethod().equals("POST") || !name.matches("[0-9A-F]{24}(\\.partial|\\.history"
            + "|\\.[0-9A-F]{8}\\.backup)?|[0-9A-F]{8}\\.history")) {
          status = 400;
          answer = "POST /push?file=<WAL file name>\n";
        } else {
          try {
            byte[] data = Files.readAllBytes(dir.resolve(name));
            archive.store(name, data, data.length);
            status = 200;
            answer = "archived " + name + "\n";
          } catch (java.io.IOException | RuntimeException e) {
            status = e instanceof dev.savepoint.core.IntegrityException ? 409 : 500;
            answer = "not archived: " + e.getMessage() + "\n";
            System.err.println("savepoint: " + name + " " + answer.strip());
          }
        }
        byte[] body = answer.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        exchange.sendResponseHeaders(status, body.length);
        try (var out = exchange.getResponseBody()) {
          out.write(body);
        }
      });
      // archive_command calls one at a time; a few threads let a retry overlap a slow store.
      server.setExecutor(java.util.concurrent.Executors.newFixedThreadPool(4));
      java.util.concurrent.CountDownLatch stopped = new java.util.concurrent.CountDownLatch(1);
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        server.stop(5);
        stopped.countDown();
      }));
      server.start();
      System.err.printf("archiving WAL of %s into plan '%s' on http://127.0.0.1:%d/push?file=…; stop with SIGTERM%n",
          dir, wal.plan, server.getAddress().getPort());
      stopped.await();
      return Main.OK;
    }
  }

  @Command(name = "verify", description = "Check the WAL chain from every base backup to the newest segment (exit 3 "
      + "on a gap, naming it) and print the recoverable window.")
  static final class Verify implements Callable<Integer> {
    @Mixin
    RepositoryOptions repo;

    @Option(names = "--plan", required = true, description = "The plan of the cluster (base backups and WAL).")
    String plan;

    @Mixin
    SecretOptions secretOptions;

    @Option(names = "--timeline", paramLabel = "<N>", description = "The window and gaps along this timeline "
        + "(e.g. 1, the history before an in-place recovery made timeline 2) instead of the newest.")
    Integer timeline;

    @Option(names = "--json", description = "Print the window and gaps as JSON.")
    boolean json;

    @Option(names = "--read-data", description = "Also read back every stored WAL file and base backup, decoded and "
        + "checked against their digests (as a restore would read them), naming any that is missing or damaged.")
    boolean readData;

    @Option(names = "--read-data-subset", paramLabel = "<percent>", description = "As --read-data for a random "
        + "share of the WAL files (1-100), e.g. 10 for a daily check of a large archive; every base backup is read.")
    Double readDataSubset;

    @Override
    public Integer call() throws Exception {
      Repository repository = repo.openAuthenticated(secretOptions.secrets());
      PointInTimeRestore pitr = PitrOptions.of(repository, plan, timeline);
      List<String> gaps = pitr.gaps();
      PointInTimeRestore.Window window = pitr.window();
      Map<String, Object> report = new LinkedHashMap<>();
      report.put("plan", plan);
      int followed = pitr.followedTimeline();
      report.put("timeline", followed);
      report.put("recoverableFrom", window.from().toString());
      report.put("recoverableTo", window.to().toString());
      report.put("gaps", gaps);
      PointInTimeRestore.DataCheck data = null;
      if (readData || readDataSubset != null) {
        if (readDataSubset != null && !(readDataSubset > 0 && readDataSubset <= 100)) {
          throw new IllegalArgumentException("--read-data-subset must be a percentage above 0 and at most 100");
        }
        data = pitr.readData(secretOptions.secrets(), readDataSubset == null ? 1 : readDataSubset / 100, true);
        report.put("readData", data);
      }
      if (json) {
        System.out.println(Format.json(report));
      } else {
        System.out.printf("plan '%s', timeline %d%s: recoverable from %s to %s%s%n", plan, followed,
            timeline == null ? " (the newest)" : "", window.from(), window.to(),
            gaps.isEmpty() ? "; WAL chain complete" : "; MISSING " + String.join(", ", gaps));
        if (data != null) {
          System.out.printf("read %d of %d WAL file(s) and %d base backup(s): %s%n", data.walFilesRead(),
              data.walFiles(), data.baseBackupsRead(), data.damaged().isEmpty() ? "all intact"
                  : data.damaged().size() + " DAMAGED");
          data.damaged().forEach((name, why) -> System.out.printf("  DAMAGED %s: %s%n", name, why));
        }
      }
      if (!gaps.isEmpty()) {
        throw new Main.VerificationFailedException("WAL of plan '" + plan + "' has gaps: " + String.join(", ", gaps));
      }
      if (data != null && !data.damaged().isEmpty()) {
        throw new Main.VerificationFailedException("plan '" + plan + "' has damaged stored files: "
            + String.join(", ", data.damaged().keySet()) + " (a restore needing them would fail)");
      }
      return Main.OK;
    }
  }

  @Command(name = "check", description = "Prove that WAL archiving works now: make the server switch to a new WAL "
      + "segment and wait until the one it left is durable in the repository (exit 3 if not within --timeout). Run it "
      + "after setting archiving up and right after every recovery.")
  static final class Check implements Callable<Integer> {
    @Mixin
    RepositoryOptions repo;

    @Option(names = "--plan", required = true, description = "The plan of the cluster (base backups and WAL).")
    String plan;

    @Option(names = "--source", required = true, paramLabel = "<postgresql-url>",
        description = "The server whose archiving to check (a role that may run pg_switch_wal()).")
    String source;

    @Option(names = "--timeout", defaultValue = "PT2M", description = "How long the segment may take (default: "
        + "${DEFAULT-VALUE}).")
    Duration timeout;

    @Mixin
    SecretOptions secretOptions;

    @Override
    public Integer call() throws Exception {
      Repository repository = repo.openAuthenticated(secretOptions.secrets());
      PointInTimeRestore.ArchivingCheck check;
      try {
        check = new PointInTimeRestore(repository, plan).check(PostgresUrl.parse(source), timeout);
      } catch (dev.savepoint.core.RestoreException e) {
        throw new Main.VerificationFailedException(e.getMessage());
      }
      System.out.printf("WAL archiving of plan '%s' works: segment %s durable %s after the switch%n", plan,
          check.segment(), Format.duration(check.took()));
      return Main.OK;
    }
  }
}
