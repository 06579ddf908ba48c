package dev.savepoint.cli;

import dev.savepoint.core.security.AuditLog;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "audit", description = "Verify the hash chain of the audit log and print it (exit 3 if broken).")
final class AuditCommand implements Callable<Integer> {
  @Mixin
  RepositoryOptions repo;

  @Mixin
  SecretOptions secretOptions; // an encrypted plan's passphrase: its entries' signatures are then checked too

  @Option(names = "--json", description = "Print the entries as JSON.")
  boolean json;

  @Option(names = "--expect-head", paramLabel = "<sequence>:<hash>", description = "Also check that this entry, "
      + "sent out of band earlier (SAVEPOINT_AUDIT_WEBHOOK), is still in the chain unchanged (exit 3 if not).")
  String expectHead;

  @Override
  public Integer call() throws Exception {
    dev.savepoint.core.Repository repository = repo.open(secretOptions.secrets());
    AuditLog log = repository.auditLog();
    List<AuditLog.Entry> entries;
    if (expectHead != null) {
      String[] head = expectHead.split(":", 2);
      if (head.length != 2 || !head[0].matches("\\d+")) {
        throw new IllegalArgumentException("--expect-head takes <sequence>:<hash>, e.g. 42:9f86d0…");
      }
      entries = log.verify(Long.parseLong(head[0]), head[1]);
    } else {
      try {
        entries = log.verify();
      } catch (dev.savepoint.core.IntegrityException broken) {
        // Show what still reads, then the break: one planted object must not hide the whole history.
        log.readable().forEach(AuditCommand::print);
        throw broken;
      }
    }
    if (entries.isEmpty() && repository.plans().stream().anyMatch(p -> {
      try {
        return !repository.list(p).isEmpty();
      } catch (java.io.IOException e) {
        return true;
      }
    })) {
      System.err.println("savepoint: warning: the audit log of " + repository.describe() + " is empty, but the "
          + "repository holds backups: its entries were removed, or the backups were written by code that does not "
          + "record them (compare with the head sent out of band: --expect-head)");
    }
    if (json) {
      System.out.println(Format.json(entries));
    } else {
      entries.forEach(AuditCommand::print);
      System.out.printf("audit chain intact: %d entries%n", entries.size());
      if (expectHead != null) {
        System.out.println("the head sent out of band (" + expectHead + ") is in the chain");
      }
      System.out.println(log.signed() ? "protection: every entry's signature checked (the key given); a writer without "
          + "the key cannot rewrite the chain" : "protection: hash chain only, as checked here; a writer of the "
          + "repository can rewrite it with recomputed hashes. Entries of an encrypted or HMAC-signed plan are signed: "
          + "give its key (--passphrase-env / --manifest-hmac-env) to check them; and use Object Lock/retention on "
          + "the bucket");
      if (System.getenv("SAVEPOINT_AUDIT_WEBHOOK") == null && expectHead == null) {
        System.out.println("protection: the chain head is not sent out of band (SAVEPOINT_AUDIT_WEBHOOK), so "
            + "removing the newest entries would go unnoticed");
      }
    }
    return Main.OK;
  }

  private static void print(AuditLog.Entry e) {
    System.out.printf("%6d %s %-12s %-16s %-8s %s%n", e.sequence(), e.time(), e.principal(), e.action(), e.result(),
        e.subject());
  }
}
