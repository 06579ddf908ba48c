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
    subcommands = {WalCommand.Stream.class, WalCommand.Push.class, WalCommand.Verify.class})
final class WalCommand {
  @Command(name = "stream", description = "Stream WAL over a physical replication slot into the repository until "
      + "SIGTERM (RPO: the flush interval). Creates the slot (default savepoint_<plan>) when missing.")
  static final class Stream implements Callable<Integer> {
    @Mixin
    RepositoryOptions repo;

    @Mixin
    EncodingOptions encoding;

    @Option(names = "--plan", required = true, description = "The plan of the cluster (base backups and WAL).")
    String plan;

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
      String slotName = slot != null ? slot : "savepoint_" + plan.toLowerCase().replaceAll("[^a-z0-9_]", "_");
      WalStreamer streamer = new WalStreamer(PostgresUrl.parse(source),
          new WalArchive(repo.openOrCreate(), plan, encoding.transforms()), slotName, flushInterval);
      Runtime.getRuntime().addShutdownHook(new Thread(streamer::close));
      Thread reader = new Thread(streamer, "savepoint-wal-stream");
      reader.start();
      // Said once the slot exists and the stream runs: base backups taken from now on are covered.
      String from;
      while ((from = streamer.awaitStreaming(Duration.ofSeconds(1))) == null && reader.isAlive()) {
        // still connecting
      }
      if (from != null) {
        System.err.printf("streaming WAL of %s (slot %s) into plan '%s'; stop with SIGTERM%n", from, slotName, plan);
      }
      reader.join();
      if (streamer.failure() != null) {
        throw streamer.failure();
      }
      return Main.OK;
    }
  }

  @Command(name = "push", description = "Archive one WAL file, for archive_command = 'savepoint wal push --repo … "
      + "--plan … %p': exits 0 only once it is durable; the same file again is 0, other content is an error.")
  static final class Push implements Callable<Integer> {
    @Mixin
    RepositoryOptions repo;

    @Mixin
    EncodingOptions encoding;

    @Option(names = "--plan", required = true, description = "The plan of the cluster (base backups and WAL).")
    String plan;

    @Parameters(index = "0", paramLabel = "<wal-file>", description = "The file (%p).")
    Path file;

    @Override
    public Integer call() throws Exception {
      byte[] data = Files.readAllBytes(file);
      new WalArchive(repo.openOrCreate(), plan, encoding.transforms()).store(file.getFileName().toString(), data,
          data.length);
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

    @Option(names = "--json", description = "Print the window and gaps as JSON.")
    boolean json;

    @Override
    public Integer call() throws Exception {
      Repository repository = repo.open();
      PointInTimeRestore pitr = new PointInTimeRestore(repository, plan);
      List<String> gaps = pitr.gaps();
      PointInTimeRestore.Window window = pitr.window();
      Map<String, Object> report = new LinkedHashMap<>();
      report.put("plan", plan);
      report.put("recoverableFrom", window.from().toString());
      report.put("recoverableTo", window.to().toString());
      report.put("gaps", gaps);
      if (json) {
        System.out.println(Format.json(report));
      } else {
        System.out.printf("plan '%s': recoverable from %s to %s%s%n", plan, window.from(), window.to(),
            gaps.isEmpty() ? "; WAL chain complete" : "; MISSING " + String.join(", ", gaps));
      }
      if (!gaps.isEmpty()) {
        throw new Main.VerificationFailedException("WAL of plan '" + plan + "' has gaps: " + String.join(", ", gaps));
      }
      return Main.OK;
    }
  }
}
