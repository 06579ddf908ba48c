package dev.savepoint.cli;

import dev.savepoint.core.BackupSelector;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.Repository;
import dev.savepoint.core.security.Approvers;
import dev.savepoint.core.security.RestoreApprovals;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "approve", description = "Two-person rule for restores and deletes, with SSH keys. 'approve "
    + "--request' opens a request (prints its id); each approver signs it with their own key: 'approve <id> "
    + "--sign-with ~/.ssh/id_ed25519' (prints what it signs, then runs ssh-keygen -Y sign -n savepoint-restore), or "
    + "signs 'approve <id> --show' elsewhere and stores it with --signature FILE. The requester signs the request "
    + "with --request --sign-with. restore --approval <id> --require-approvals N --approvers allowed_signers then "
    + "checks every signature with ssh-keygen -Y verify and counts distinct approvers other than the requester's key.")
final class ApproveCommand implements Callable<Integer> {
  @Mixin
  RepositoryOptions repo;

  @Parameters(index = "0", arity = "0..1", paramLabel = "<request-id>", description = "The request to approve.")
  String requestId;

  @Option(names = "--request", description = "Open a new request.")
  boolean request;

  @Option(names = "--plan", description = "With --request: the plan of the backup.")
  String plan;

  @Option(names = "--backup", defaultValue = "latest", description = "With --request: the backup (default: latest); "
      + "for a prune, the ids it deletes, comma-separated.")
  String backup;

  @Option(names = "--recovery", paramLabel = "<recovery.yaml>", description = "With --request: approve a whole "
      + "recovery (savepoint recover with an approve step) as written in this file, as of --at. When approving a "
      + "recovery request: the file, whose steps are shown and whose digest must match.")
  Path recovery;

  @Option(names = "--at", paramLabel = "<ISO time>", description = "With --request: the point in time, as given to "
      + "restore or recover --at; default: latest.")
  String at;

  @Option(names = "--to", paramLabel = "<uri>", description = "With --request: the restore target (as given to "
      + "restore: a URI, pgdata:<dir>, a provider), 'delete' or 'prune'.")
  String to;

  @Option(names = "--lsn", description = "With --request --to pgdata:…: the LSN the restore stops at.")
  String lsn;

  @Option(names = "--timeline", description = "With --request --to pgdata:…: the timeline the restore follows.")
  Integer timeline;

  @Option(names = "--with-tier", paramLabel = "<plan>", description = "With --request: the other tier plans of a "
      + "combined restore (as given to restore --with-tier).")
  List<String> withTiers = new java.util.ArrayList<>();

  @Option(names = "--reason", description = "With --request: why (recorded and signed).")
  String reason;

  @Option(names = "--valid-for", defaultValue = "PT4H", paramLabel = "<ISO duration>",
      description = "With --request: how long the request can be approved and used (default: ${DEFAULT-VALUE}).")
  Duration validFor;

  @Option(names = "--show", description = "Print the request's document, the exact bytes approvers sign.")
  boolean show;

  @Option(names = "--sign-with", paramLabel = "<ssh-private-key>",
      description = "Sign with this SSH key (ssh-keygen -Y sign -n savepoint-restore) and store it: with --request as "
          + "its requester (required), else as an approver.")
  Path signWith;

  @Option(names = "--approvers", paramLabel = "<allowed_signers>", description = "With --request and no approval "
      + "policy: the approvers' allowed_signers file, which names the requester by their key (default: "
      + "$SAVEPOINT_APPROVERS).")
  Path approvers;

  @Option(names = "--signature", paramLabel = "<file>", description = "Store an SSH signature made elsewhere.")
  Path signature;

  @Override
  public Integer call() throws Exception {
    Repository repository = repo.open();
    RestoreApprovals approvals = new RestoreApprovals(repository.store(), repository.auditLog(), validFor);
    if (request && signWith == null) {
      throw new IllegalArgumentException("--request needs --sign-with <your SSH private key>: a request counts only "
          + "when its requester's key signed it (your own signature never counts as an approval)");
    }
    if (request && recovery != null) {
      String name = new com.fasterxml.jackson.databind.ObjectMapper(new com.fasterxml.jackson.dataformat.yaml.YAMLFactory())
          .readTree(recovery.toFile()).path("name").asText(null);
      if (name == null) {
        throw new dev.savepoint.core.ConfigurationException("recovery file " + recovery + " has no name");
      }
      dev.savepoint.recovery.Steps.ApprovalSubject subject = dev.savepoint.recovery.Steps.approvalSubject(name,
          at == null ? null : Format.instant("--at", at), java.nio.file.Files.readAllBytes(recovery));
      RestoreApprovals.Request r = approvals.request(requester(repository), subject.plan(), subject.pointInTime(),
          subject.digest(), dev.savepoint.recovery.Steps.RECOVER, reason);
      approvals.signAsRequester(r.id(), sshSign(signWith, RestoreApprovals.requestDocument(r)));
      System.out.printf("request %s: recovery '%s' as of %s, expires %s%napprovers sign it with the file in hand: "
          + "savepoint approve --repo %s %s --recovery %s --sign-with ~/.ssh/id_ed25519%n", r.id(), name,
          subject.pointInTime(), r.expiresAt(), repo.repo, r.id(), recovery);
      return Main.OK;
    }
    if (request) {
      if (plan == null || to == null) {
        throw new IllegalArgumentException("--request needs --plan and --to");
      }
      Approvals.Subject subject = subject(repository);
      RestoreApprovals.Request r = approvals.request(requester(repository), subject.plan(), subject.backupId(),
          subject.digest(), subject.target(), reason);
      approvals.signAsRequester(r.id(), sshSign(signWith, RestoreApprovals.requestDocument(r)));
      System.out.printf("request %s: %s/%s -> %s, expires %s%napprovers sign it with: savepoint approve --repo %s %s "
          + "--sign-with ~/.ssh/id_ed25519%n", r.id(), r.plan(), r.backupId(), r.target(), r.expiresAt(), repo.repo,
          r.id());
      return Main.OK;
    }
    if (requestId == null) {
      throw new IllegalArgumentException("give a request id, or --request to open one");
    }
    RestoreApprovals.Request r = approvals.load(requestId);
    byte[] document = RestoreApprovals.document(r);
    if (show) {
      System.err.println(RestoreApprovals.describe(r)); // what the bytes on stdout say, for the person signing them
      System.out.write(document);
      System.out.flush();
      return Main.OK;
    }
    // What you sign is what you see: every field the signature covers, as it is now in the repository.
    System.out.println("signing " + RestoreApprovals.describe(r));
    if (RestoreApprovals.RECOVER_TARGET.equals(r.target()) && !show) {
      // A recovery is approved with its file in hand: the steps it runs, checked against the digest signed.
      if (recovery == null) {
        throw new IllegalArgumentException("request " + r.id() + " is for a whole recovery: approve it with the "
            + "recovery file in hand, --recovery <file> (SHA-256 " + r.manifestSha256() + "), to see its steps");
      }
      byte[] file = java.nio.file.Files.readAllBytes(recovery);
      String digest = dev.savepoint.core.internal.Probe.sha256Of(file, 0, file.length);
      if (!digest.equals(r.manifestSha256())) {
        throw new dev.savepoint.core.ApprovalException("recovery file " + recovery + " (SHA-256 " + digest + ") is "
            + "not the one request " + r.id() + " names (SHA-256 " + r.manifestSha256() + "): nothing signed");
      }
      System.out.println("  steps (" + recovery + "):");
      new String(file, java.nio.charset.StandardCharsets.UTF_8).lines()
          .forEach(line -> System.out.println("    " + RestoreApprovals.printable(line)));
    }
    String armored;
    if (signWith != null) {
      armored = sshSign(signWith, document);
    } else if (signature != null) {
      armored = java.nio.file.Files.readString(signature);
    } else {
      throw new IllegalArgumentException("approve a request with --sign-with <ssh key> or --signature <file>");
    }
    approvals.addSignature(requestId, armored, Audit.principal());
    System.out.printf("stored a signature for request %s (it counts if the restoring side lists the key)%n", requestId);
    return Main.OK;
  }

  /**
   * Who opens the request: the name the approvers (the policy's, else the file given) list for the key it is signed
   * with — not a name anyone can type. Without approvers to ask, $SAVEPOINT_PRINCIPAL or the user's name, which
   * the restoring side checks against the key then.
   */
  private String requester(Repository repository) throws Exception {
    java.util.Optional<dev.savepoint.core.security.ApprovalPolicy.Document> policy =
        new dev.savepoint.core.security.ApprovalPolicy(repository.store()).inForce();
    if (policy.isEmpty() && Approvals.approversFile(approvers) == null) {
      return Audit.principal();
    }
    byte[] probe = ("savepoint: which approver holds this key? " + java.util.UUID.randomUUID())
        .getBytes(java.nio.charset.StandardCharsets.UTF_8);
    return Approvals.approvers(policy, approvers).verify(probe, sshSign(signWith, probe))
        .map(Approvers.Signer::principal).orElseThrow(() -> new dev.savepoint.core.ApprovalException("the key "
            + signWith + " is not one the approvers list: a request counts only when a listed key signed it"));
  }

  /** What the command the request is for will name (Approvals.Subject): the same backup, point in time or ids. */
  private Approvals.Subject subject(Repository repository) throws Exception {
    if (to.startsWith("pgdata:") || Uris.isProvider(to) || !withTiers.isEmpty()) {
      List<String> plans = new java.util.ArrayList<>(List.of(plan));
      plans.addAll(withTiers);
      return Approvals.Subject.pointInTime(String.join("+", plans), at, lsn, timeline, to);
    }
    if (to.equals(Approvals.PRUNE)) {
      if (backup.equals("latest")) {
        throw new IllegalArgumentException("a prune request names the backups it deletes: --backup <id,id,…> as "
            + "'savepoint prune --dry-run' lists them");
      }
      return Approvals.Subject.prune(plan, List.of(backup.split(",")));
    }
    Manifest m = to.equals(RestoreApprovals.DELETE_TARGET) && !backup.equals("latest")
        ? repository.list(plan).stream().filter(x -> x.id().equals(backup)).findFirst().orElse(null)
        : repository.select(plan, at != null ? BackupSelector.atOrBefore(Format.instant("--at", at))
            : BackupSelector.parse(backup));
    // Deleting a damaged backup needs a request too: it is named by id, as no manifest can be read.
    return m == null ? new Approvals.Subject(plan, backup, null, RestoreApprovals.DELETE_TARGET)
        : Approvals.Subject.backup(plan, m, to);
  }

  /** {@code ssh-keygen -Y sign}: the approver's own tool and key; the key never enters this process. */
  static String sshSign(Path key, byte[] document) throws Exception {
    return sshSign(key, Approvers.NAMESPACE, document);
  }

  /** As {@link #sshSign(Path, byte[])}, in {@code namespace}. */
  static String sshSign(Path key, String namespace, byte[] document) throws Exception {
    Process p = new ProcessBuilder("ssh-keygen", "-q", "-Y", "sign", "-n", namespace, "-f", key.toString())
        .redirectError(ProcessBuilder.Redirect.INHERIT).start();
    try (var in = p.getOutputStream()) {
      in.write(document);
    }
    String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    if (p.waitFor() != 0 || !out.contains("BEGIN SSH SIGNATURE")) {
      throw new dev.savepoint.core.ApprovalException("ssh-keygen could not sign with " + key + " (exit "
          + p.exitValue() + ")");
    }
    return out;
  }
}
