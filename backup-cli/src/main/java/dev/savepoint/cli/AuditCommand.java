package dev.savepoint.cli;

import dev.savepoint.core.AuditLog;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "audit", description = "Verify the hash chain of the audit log and print it (exit 3 if broken).")
final class AuditCommand implements Callable<Integer> {
  @Mixin
  RepositoryOptions repo;

  @Option(names = "--json")
  boolean json;

  @Override
  public Integer call() throws Exception {
    AuditLog log = repo.open().auditLog();
    List<AuditLog.Entry> entries = log.verify();
    if (json) {
      System.out.println(Format.json(entries));
    } else {
      for (AuditLog.Entry e : entries) {
        System.out.printf("%6d %s %-12s %-16s %-8s %s%n", e.sequence(), e.time(), e.principal(), e.action(), e.result(),
            e.subject());
      }
      System.out.printf("audit chain intact: %d entries%n", entries.size());
      System.out.println(log.signed() ? "protection: every entry signed (--manifest-hmac-env); a writer without the key "
          + "cannot rewrite the chain" : "protection: hash chain only; a writer of the repository can rewrite it with "
          + "recomputed hashes (sign entries with --manifest-hmac-env, and use Object Lock/retention on the bucket)");
    }
    return Main.OK;
  }
}
