package dev.savepoint.cli;

import dev.savepoint.core.ApprovalException;
import dev.savepoint.core.Approvers;
import dev.savepoint.core.AuditLog;
import dev.savepoint.core.Repository;
import dev.savepoint.core.RestoreApprovals;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;

/** The approval check shared by restore and delete. */
final class Approvals {
  private Approvals() {}

  /** The approvers' allowed_signers file: the one given, else $SAVEPOINT_APPROVERS, else null. */
  static Path approversFile(Path given) {
    String env = System.getenv("SAVEPOINT_APPROVERS");
    return given != null ? given : env == null ? null : Path.of(env);
  }

  static void require(Repository repository, String approval, int quorum, Path approversFile, String plan,
      String backupId, String manifestSha256, String target) throws IOException {
    if (approval == null) {
      throw new ApprovalException("this operation requires " + quorum + " approvals: open a request with 'savepoint "
          + "approve --request', have approvers sign it, and pass --approval <id>");
    }
    Path file = approversFile(approversFile);
    if (file == null) {
      throw new ApprovalException("approvals are checked against the approvers' SSH keys: give --approvers "
          + "<allowed_signers> (or SAVEPOINT_APPROVERS), a file kept outside the repository");
    }
    new RestoreApprovals(repository.store(), repository.auditLog(), Duration.ZERO)
        .requireApproved(approval, plan, backupId, manifestSha256, target, Approvers.fromAllowedSigners(file), quorum);
  }
}
