package dev.savepoint.cli;

import dev.savepoint.core.BackupPlan;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.Repository;
import dev.savepoint.core.Verifiers;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "backup", description = "Take one backup of a source into a repository.")
final class BackupCommand implements Callable<Integer> {
  @Mixin
  RepositoryOptions repo;

  @Option(names = "--plan", required = true, description = "Plan name: backups are grouped by plan.")
  String plan;

  @Option(names = "--source", required = true, paramLabel = "<uri>",
      description = "file:/dir (tar), file:/file, - (stdin), postgresql://user@host:port/db (password from "
          + "PGPASSWORD or the password file, never the command line), s3://bucket/prefix or gs://bucket/prefix "
          + "(uploads, incremental), or env:NAME,PREFIX_* (configuration, secrets withheld).")
  String source;

  @Mixin
  EncodingOptions encoding;

  @Option(names = "--tier", description = "Tier label recorded in the manifest, e.g. tier1.")
  String tier;

  @Option(names = "--min-size", defaultValue = "0", paramLabel = "<bytes>",
      description = "Fail (and write no manifest) if the backup stores fewer bytes.")
  long minSize;

  @Option(names = "--pg-format", defaultValue = "auto", paramLabel = "<format>",
      description = "PostgreSQL sources: parallel (one artifact per table, copied on several connections), plain "
          + "(pg_dump SQL) or custom (pg_dump archive). Default: ${DEFAULT-VALUE}, parallel where it applies "
          + "(PostgreSQL 12+), else plain, with the reason in the log.")
  String pgFormat;

  @Option(names = "--jobs", paramLabel = "<N>",
      description = "Connections copying tables at once with --pg-format parallel (default: processors, 2 to 4).")
  Integer jobs;

  @Option(names = "--globals", description = "PostgreSQL: also back up the server's roles and memberships "
      + "(pg_dumpall --globals-only --no-role-passwords), for restore --globals onto a new server.")
  boolean globals;

  @Option(names = "--json", description = "Print the result as JSON.")
  boolean json;

  @Override
  public Integer call() throws Exception {
    java.util.List<dev.savepoint.core.Transform> transforms = encoding.transforms();
    Repository repository = repo.openForWriting(transforms);
    BackupPlan.Builder builder = BackupPlan.builder(plan).tier(tier).source(Uris.source(source, Uris.pgFormat(pgFormat), jobs, globals))
        .repository(repository).verifier(Verifiers.presence(minSize));
    if (minSize < 0) {
      throw new IllegalArgumentException("--min-size must be 0 or more bytes, not " + minSize);
    }
    transforms.forEach(builder::transform);
    Manifest m = Audit.backup(repository, plan, () -> {
      try (TerminalProgress progress = new TerminalProgress("backup")) {
        return builder.progress(progress).build().run().manifest();
      }
    });
    if (json) {
      System.out.println(Format.json(summary(m)));
    } else {
      System.out.printf("backup %s of plan '%s' complete: %d artifact(s), %s raw, %s stored, %s%n", m.id(),
          m.plan(), m.artifactCount(), Format.bytes(m.rawBytes()), Format.bytes(m.storedBytes()),
          Format.duration(m.duration()));
    }
    return Main.OK;
  }

  /** The stable JSON shape of one backup in {@code backup --json} and {@code list --json}. */
  static Map<String, Object> summary(Manifest m) {
    Map<String, Object> s = new LinkedHashMap<>();
    s.put("plan", m.plan());
    s.put("id", m.id());
    s.put("tier", m.tier());
    s.put("startedAt", m.startedAt().toString());
    s.put("finishedAt", m.finishedAt().toString());
    s.put("durationMillis", m.duration().toMillis());
    s.put("sourceType", m.source().type());
    s.put("artifacts", m.artifactCount());
    s.put("rawBytes", m.rawBytes());
    s.put("storedBytes", m.storedBytes());
    return s;
  }
}
