package dev.savepoint.core;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import dev.savepoint.core.internal.ManifestCodec;
import dev.savepoint.core.internal.Probe;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeSet;
import java.util.UUID;

/**
 * The two-person (N-of-M) rule for restores and deletes, held against one person acting alone:
 *
 * <ul>
 *   <li>a request names the backup (plan, id and the SHA-256 of its manifest), the target, the reason, the
 *       requester and an expiry; it is stored in the repository ({@code _savepoint/approvals/<id>.json});
 *   <li>an approval is an SSH signature over the request's {@link #document canonical document}, made by an
 *       approver with their own key ({@code ssh-keygen -Y sign -n savepoint-restore}) and stored next to it
 *       ({@code _savepoint/approvals/<id>.sigs/}) — anyone may store one, only valid ones count;
 *   <li>{@link #requireApproved} counts the distinct people (principals of the {@link Approvers} file, which
 *       lives outside the repository) whose keys signed exactly this request — not the requester, not an
 *       unlisted key, not a signature over another backup, target or an edited request — before it expires.
 * </ul>
 *
 * Names from environment variables count for nothing: whoever can write the repository can write any name.
 * Every request and approval is written to the {@link AuditLog}.
 */
public final class RestoreApprovals {
  static final String PREFIX = "_savepoint/approvals/";
  private static final ObjectMapper CANONICAL = new ObjectMapper().registerModule(new JavaTimeModule())
      .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
      .configure(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS, true);

  /** A request: what is to be restored (or deleted), where to, by whom, why, until when. */
  public record Request(String id, String requester, String plan, String backupId, String manifestSha256,
      String target, String reason, Instant createdAt, Instant expiresAt) {}

  private final Store store;
  private final AuditLog audit;
  private final Duration validity;

  public RestoreApprovals(Store store, AuditLog audit, Duration validity) {
    this.store = Objects.requireNonNull(store);
    this.audit = Objects.requireNonNull(audit);
    this.validity = Objects.requireNonNull(validity);
  }

  /** The SHA-256 of a manifest as approvals name it: another backup, or an edited one, is another digest. */
  public static String manifestDigest(Manifest manifest) {
    return sha256(ManifestCodec.write(manifest));
  }

  public Request request(String requester, String plan, String backupId, String manifestSha256, String target,
      String reason) throws IOException {
    Instant now = Instant.now();
    String shown = Redaction.uri(target); // a request is read by everyone who can read the repository
    Request r = new Request(UUID.randomUUID().toString(), requireName(requester), plan, backupId, manifestSha256,
        shown, reason, now, now.plus(validity));
    store.put(PREFIX + r.id() + ".json", ByteSource.wrap(ManifestCodec.JSON.writeValueAsBytes(r)));
    audit.append(requester, "approval-request", plan + "/" + backupId + " -> " + shown, "requested",
        Map.of("request", r.id(), "reason", String.valueOf(reason)));
    return r;
  }

  /** The bytes approvers sign: the request's fields in a fixed order, as compact JSON. */
  public static byte[] document(Request r) {
    Map<String, Object> fields = new LinkedHashMap<>();
    fields.put("savepoint", "restore-approval-v1");
    fields.put("id", r.id());
    fields.put("requester", r.requester());
    fields.put("plan", r.plan());
    fields.put("backupId", r.backupId());
    fields.put("manifestSha256", r.manifestSha256());
    fields.put("target", r.target());
    fields.put("reason", r.reason());
    fields.put("expiresAt", r.expiresAt().toString());
    try {
      return CANONICAL.writeValueAsBytes(fields);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Stores an approval (an armored SSH signature over {@link #document}); it counts only if it verifies. */
  public void addSignature(String requestId, String armoredSignature, String principal) throws IOException {
    Request r = load(requestId);
    if (!armoredSignature.contains("-----BEGIN SSH SIGNATURE-----")) {
      throw new ApprovalException("an approval must be an SSH signature (ssh-keygen -Y sign -n "
          + Approvers.NAMESPACE + ")");
    }
    byte[] bytes = armoredSignature.getBytes(StandardCharsets.UTF_8);
    store.put(PREFIX + r.id() + ".sigs/" + sha256(bytes) + ".sig", ByteSource.wrap(bytes));
    audit.append(principal, "approval-sign", r.plan() + "/" + r.backupId() + " -> " + r.target(), "signed",
        Map.of("request", r.id()));
  }

  /**
   * Throws {@link ApprovalException} unless request {@code requestId} is for exactly this backup (manifest
   * digest included) and target, unexpired, and signed by {@code quorum} distinct approvers of
   * {@code approvers} other than its requester. Returns the request.
   */
  public Request requireApproved(String requestId, String plan, String backupId, String manifestSha256,
      String target, Approvers approvers, int quorum) throws IOException {
    return verify(requestId, plan, backupId, manifestSha256, target, approvers, quorum).request();
  }

  /** A request found approved: by whom (principals of the approvers file), checked when. */
  public record Approved(Request request, List<String> approvedBy, Instant verifiedAt) {}

  /** As {@link #requireApproved}, also saying who approved. */
  public Approved verify(String requestId, String plan, String backupId, String manifestSha256, String target,
      Approvers approvers, int quorum) throws IOException {
    if (quorum < 1) {
      throw new IllegalArgumentException("quorum must be at least 1");
    }
    Request r = load(requestId);
    if (!r.plan().equals(plan) || !r.backupId().equals(backupId) || !Objects.equals(r.manifestSha256(), manifestSha256)
        || !r.target().equals(Redaction.uri(target))) {
      throw new ApprovalException("request " + requestId + " approves " + r.plan() + "/" + r.backupId() + " -> "
          + r.target() + (Objects.equals(r.manifestSha256(), manifestSha256) ? "" : " (another manifest)")
          + ", not this operation");
    }
    if (Instant.now().isAfter(r.expiresAt())) {
      throw new ApprovalException("request " + requestId + " expired at " + r.expiresAt() + "; request again");
    }
    byte[] document = document(r);
    TreeSet<String> approvedBy = new TreeSet<>();
    for (ObjectInfo o : store.list(PREFIX + r.id() + ".sigs/")) {
      try (InputStream in = store.get(o.key())) {
        Optional<String> signer = approvers.signer(document, new String(in.readAllBytes(), StandardCharsets.UTF_8));
        signer.filter(p -> !p.equals(r.requester())).ifPresent(approvedBy::add);
      }
    }
    if (approvedBy.size() < quorum) {
      throw new ApprovalException("request " + requestId + " has valid signatures of " + approvedBy.size()
          + " approver(s) other than the requester " + r.requester() + (approvedBy.isEmpty() ? "" : " (" 
          + String.join(", ", approvedBy) + ")") + "; " + quorum + " are required (signatures by unlisted keys, "
          + "over another request or by the requester do not count)");
    }
    audit.append(String.join(",", approvedBy), "approval-verified", r.plan() + "/" + r.backupId() + " -> "
        + r.target(), "approved", Map.of("request", r.id(), "approvers", List.copyOf(approvedBy)));
    return new Approved(r, List.copyOf(approvedBy), Instant.now());
  }

  public Request load(String requestId) throws IOException {
    Objects.requireNonNull(requestId);
    if (!requestId.matches("[0-9a-f-]{36}")) {
      throw new IllegalArgumentException("not a request id: " + requestId);
    }
    try (InputStream in = store.get(PREFIX + requestId + ".json")) {
      return ManifestCodec.JSON.readValue(in, Request.class);
    } catch (ObjectNotFoundException e) {
      throw new ApprovalException("no request " + requestId);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new ApprovalException("request " + requestId + " is unreadable: " + e.getOriginalMessage());
    }
  }

  private static String sha256(byte[] bytes) {
    return Probe.sha256Of(bytes, 0, bytes.length);
  }

  private static String requireName(String principal) {
    if (principal == null || principal.isBlank()) {
      throw new IllegalArgumentException("a principal (who is acting) is required");
    }
    return principal;
  }
}
