package dev.savepoint.core;

import dev.savepoint.core.internal.ManifestCodec;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;

/**
 * The two-person (N-of-M) rule for restores: a restore request must collect {@code quorum} approvals from
 * distinct principals other than the requester before it expires. Requests are stored in the repository
 * ({@code _savepoint/approvals/<id>.json}) so requester and approvers can use different machines; every
 * request and approval is written to the {@link AuditLog}.
 */
public final class RestoreApprovals {
  static final String PREFIX = "_savepoint/approvals/";

  /** A restore request and the approvals it has collected. */
  public record Request(String id, String requester, String plan, String backupId, String target, String reason,
      Instant createdAt, Instant expiresAt, List<String> approvers) {}

  private final Store store;
  private final AuditLog audit;
  private final int quorum;
  private final Duration validity;

  public RestoreApprovals(Store store, AuditLog audit, int quorum, Duration validity) {
    if (quorum < 1) {
      throw new IllegalArgumentException("quorum must be at least 1");
    }
    this.store = store;
    this.audit = audit;
    this.quorum = quorum;
    this.validity = validity;
  }

  public Request request(String requester, String plan, String backupId, String target, String reason)
      throws IOException {
    Instant now = Instant.now();
    Request r = new Request(UUID.randomUUID().toString(), requireName(requester), plan, backupId, target, reason,
        now, now.plus(validity), List.of());
    save(r);
    audit.append(requester, "restore-request", plan + "/" + backupId + " -> " + target, "requested",
        Map.of("request", r.id(), "reason", String.valueOf(reason)));
    return r;
  }

  public synchronized Request approve(String requestId, String approver) throws IOException {
    Request r = load(requestId);
    requireName(approver);
    if (Instant.now().isAfter(r.expiresAt())) {
      throw new ApprovalException("restore request " + requestId + " expired at " + r.expiresAt() + "; request again");
    }
    if (approver.equals(r.requester())) {
      throw new ApprovalException(approver + " requested restore " + requestId + " and cannot approve it");
    }
    if (r.approvers().contains(approver)) {
      throw new ApprovalException(approver + " has already approved restore request " + requestId);
    }
    List<String> approvers = new ArrayList<>(r.approvers());
    approvers.add(approver);
    Request updated = new Request(r.id(), r.requester(), r.plan(), r.backupId(), r.target(), r.reason(),
        r.createdAt(), r.expiresAt(), List.copyOf(approvers));
    save(updated);
    audit.append(approver, "restore-approve", r.plan() + "/" + r.backupId() + " -> " + r.target(), "approved",
        Map.of("request", r.id(), "approvals", approvers.size(), "quorum", quorum));
    return updated;
  }

  /**
   * Throws {@link ApprovalException} unless {@code requestId} is unexpired, has {@code quorum} approvals and
   * matches the restore about to run.
   */
  public Request requireApproved(String requestId, String plan, String backupId, String target) throws IOException {
    Request r = load(requestId);
    if (!r.plan().equals(plan) || !r.backupId().equals(backupId) || !r.target().equals(target)) {
      throw new ApprovalException("restore request " + requestId + " approves " + r.plan() + "/" + r.backupId()
          + " -> " + r.target() + ", not this restore");
    }
    if (Instant.now().isAfter(r.expiresAt())) {
      throw new ApprovalException("restore request " + requestId + " expired at " + r.expiresAt());
    }
    if (r.approvers().size() < quorum) {
      throw new ApprovalException("restore request " + requestId + " has " + r.approvers().size() + " of the "
          + quorum + " required approvals");
    }
    return r;
  }

  public Request load(String requestId) throws IOException {
    Objects.requireNonNull(requestId);
    if (!requestId.matches("[0-9a-f-]{36}")) {
      throw new IllegalArgumentException("not a restore request id: " + requestId);
    }
    try (InputStream in = store.get(PREFIX + requestId + ".json")) {
      return ManifestCodec.JSON.readValue(in, Request.class);
    } catch (ObjectNotFoundException e) {
      throw new ApprovalException("no restore request " + requestId);
    }
  }

  private void save(Request r) throws IOException {
    store.put(PREFIX + r.id() + ".json", ByteSource.wrap(ManifestCodec.JSON.writeValueAsBytes(r)));
  }

  private static String requireName(String principal) {
    if (principal == null || principal.isBlank()) {
      throw new IllegalArgumentException("a principal (who is acting) is required");
    }
    return principal;
  }
}
