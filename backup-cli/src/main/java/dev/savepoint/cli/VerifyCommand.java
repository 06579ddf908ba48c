package dev.savepoint.cli;

import dev.savepoint.core.Manifest;
import dev.savepoint.core.Repository;
import dev.savepoint.core.VerificationResult;
import dev.savepoint.core.Verifiers;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "verify", description = "Check a backup: presence and sizes, stored SHA-256; --full also decodes "
    + "every artifact and checks the raw SHA-256, and records the outcome with the backup (retention never deletes "
    + "the newest backup that passed a full verification or a drill). Exit 3 if anything does not match.")
final class VerifyCommand implements Callable<Integer> {
  @Mixin
  RepositoryOptions repo;

  @Mixin
  SecretOptions secretOptions;

  @Mixin
  BackupChoice choice;


  @Option(names = "--full", description = "Also reverse the transform chain and compare raw digests.")
  boolean full;

  @Option(names = "--json", description = "Print the checks as JSON.")
  boolean json;

  @Override
  public Integer call() throws Exception {
    Repository repository = repo.openAuthenticated(secretOptions.secrets());
    Manifest m = repository.select(choice.plan, choice.selector());
    BackupChoice.warnSkipped(repository, m);
    List<VerificationResult> results = new java.util.ArrayList<>(repository.verify(m,
        Verifiers.standard(full, secretOptions.secrets())));
    if (full && m.source().type().equals(dev.savepoint.postgres.pitr.BaseBackupSource.TYPE)) {
      // A base backup restores nothing without its WAL: --full reads that back too.
      dev.savepoint.postgres.pitr.PointInTimeRestore.DataCheck wal = new dev.savepoint.postgres.pitr.PointInTimeRestore(
          repository, choice.plan).readData(secretOptions.secrets(), 1, false);
      java.util.Map<String, String> damagedWal = wal.damaged();
      results.add(new VerificationResult("wal-data", damagedWal.isEmpty(), damagedWal.isEmpty()
          ? wal.walFilesRead() + " WAL files read back intact" : "damaged WAL: " + damagedWal));
    }
    boolean passed = results.stream().allMatch(VerificationResult::passed);
    if (full) {
      try {
        repository.recordVerification(m, results); // evidence: retention keeps the last known good backup
      } catch (java.io.IOException e) {
        System.err.printf("savepoint: warning: could not record the verification with the backup: %s%n",
            Main.message(e));
      }
    }
    Audit.record(repository, full ? "verify-full" : "verify", choice.plan + "/" + m.id(), passed ? "ok" : "failed", Map.of());
    if (json) {
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("plan", choice.plan);
      out.put("id", m.id());
      out.put("passed", passed);
      out.put("checks", results);
      System.out.println(Format.json(out));
    } else {
      for (VerificationResult r : results) {
        System.out.printf("%-14s %s  %s%n", r.check(), r.passed() ? "ok  " : "FAIL", r.detail());
      }
    }
    if (!passed) {
      VerificationResult first = results.stream().filter(r -> !r.passed()).findFirst().orElseThrow();
      throw new Main.VerificationFailedException("backup " + m.id() + " failed " + first.check() + ": " + first.detail());
    }
    return Main.OK;
  }
}
