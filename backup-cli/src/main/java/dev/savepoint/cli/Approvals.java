package dev.savepoint.cli;

import dev.savepoint.core.ApprovalException;
import dev.savepoint.core.Repository;
import dev.savepoint.core.security.ApprovalPolicy;
import dev.savepoint.core.security.Approvers;
import dev.savepoint.core.security.RestoreApprovals;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * The one place every command that restores, deletes, prunes or recovers asks whether it may: the repository's
 * {@link ApprovalPolicy} decides how many approvals and whose; {@code --require-approvals} can only ask for more.
 */
final class Approvals {
  private Approvals() {}

  /** What an approval names: the plan, the backup (or point in time, or ids), its digest and the target. */
  record Subject(String plan, String backupId, String digest, String target) {
    /** Restoring (or, to {@code delete}, deleting) one backup: named by its manifest's digest too. */
    static Subject backup(String plan, dev.savepoint.core.Manifest m, String target) {
      return new Subject(plan, m.id(), RestoreApprovals.manifestDigest(m), Uris.redact(target));
    }

    /** A restore to a point in time (a physical plan's, a provider's or several tiers'): by time, LSN or latest. */
    static Subject pointInTime(String plan, String at, String lsn, Integer timeline, String target) {
      String when = lsn != null ? "lsn " + lsn : at == null ? "latest" : Format.instant("--at", at).toString();
      return new Subject(plan, when + (timeline == null ? "" : " on timeline " + timeline), null, Uris.redact(target));
    }

    /** A prune: exactly the backups it deletes. */
    static Subject prune(String plan, java.util.Collection<String> deleted) {
      return new Subject(plan, String.join(",", new java.util.TreeSet<>(deleted)), null, PRUNE);
    }
  }

  static final String PRUNE = RestoreApprovals.PRUNE_TARGET;

  /** The approval options of the commands a policy binds (restore, delete, prune). */
  static final class Options {
    @picocli.CommandLine.Option(names = "--approval", paramLabel = "<request-id>",
        description = "The approved request for this operation (savepoint approve --request …).")
    String approval;

    @picocli.CommandLine.Option(names = "--approvers", paramLabel = "<allowed_signers>", description = "Without an "
        + "approval policy: the approvers' OpenSSH allowed_signers file, kept outside the repository (default: "
        + "$SAVEPOINT_APPROVERS). With one, the policy names the approvers.")
    Path approvers;

    @picocli.CommandLine.Option(names = "--require-approvals", defaultValue = "0", paramLabel = "<N>",
        description = "Refuse without an approval request holding N approvals (two-person rule: 2); the "
            + "repository's approval policy may require more.")
    int requireApprovals;

    /** {@link Approvals#require} with these options. */
    void require(Repository repository, ApprovalPolicy.Operation operation, Subject subject) throws IOException {
      Approvals.require(repository, operation, approval, requireApprovals, approvers, subject);
    }
  }

  /** Said once, after a command that succeeded (Main): that no policy bound it. */
  static volatile String notice;

  /** The approvers' allowed_signers file: the one given, else $SAVEPOINT_APPROVERS, else null. */
  static Path approversFile(Path given) {
    String env = System.getenv("SAVEPOINT_APPROVERS");
    return given != null ? given : env == null ? null : Path.of(env);
  }

  /**
   * The repository's approval policy in force, if any ({@link ApprovalException} on a host that pins admins and finds
   * none of theirs); without one, the command says so once it has succeeded.
   */
  static Optional<ApprovalPolicy.Document> policy(Repository repository) throws IOException {
    Optional<ApprovalPolicy.Document> policy = new ApprovalPolicy(repository.store()).inForce();
    if (policy.isEmpty()) {
      notice = "savepoint: this repository has no approval policy (savepoint policy --help): approvals are required "
          + "only where --require-approvals asks";
    }
    return policy;
  }

  /**
   * Refuses {@code operation} on {@code subject} unless approval request {@code approval} holds the approvals the
   * policy (or, asking more, {@code requested}) requires, from the policy's approvers (without a policy: the
   * approvers file given). An approval given is checked even when none is required: it must cover this operation.
   */
  static void require(Repository repository, ApprovalPolicy.Operation operation, String approval, int requested,
      Path approversFile, Subject subject) throws IOException {
    Optional<ApprovalPolicy.Document> policy = policy(repository);
    int quorum = Math.max(requested, policy.map(p -> p.required(operation)).orElse(0));
    if (quorum == 0 && approval == null) {
      return;
    }
    quorum = Math.max(1, quorum);
    if (approval == null) {
      throw new ApprovalException(operation.key() + " requires " + quorum + " approval(s)" + policy.map(p ->
          " (approval policy version " + p.version() + ")").orElse("") + ": open a request with 'savepoint approve "
          + "--request" + (PRUNE.equals(subject.target()) ? " --plan " + subject.plan() + " --to prune --backup "
          + subject.backupId() : "") + "', have approvers sign it, and pass --approval <id>");
    }
    new RestoreApprovals(repository.store(), repository.auditLog(), Duration.ZERO).requireApproved(approval,
        subject.plan(), subject.backupId(), subject.digest(), subject.target(), approvers(policy, approversFile),
        quorum);
  }

  /** The policy's approvers, else the approvers file given (a file the operator chooses binds only by choice). */
  static Approvers approvers(Optional<ApprovalPolicy.Document> policy, Path approversFile) throws IOException {
    if (policy.isPresent()) {
      if (approversFile(approversFile) != null) {
        System.err.println("savepoint: the approval policy (version " + policy.get().version() + ") names the "
            + "approvers; --approvers/SAVEPOINT_APPROVERS is not used");
      }
      return ApprovalPolicy.approvers(policy.get());
    }
    Path file = approversFile(approversFile);
    if (file == null) {
      throw new ApprovalException("approvals are checked against the approvers' SSH keys: give --approvers "
          + "<allowed_signers> (or SAVEPOINT_APPROVERS), a file kept outside the repository");
    }
    return Approvers.fromAllowedSigners(file);
  }
}
