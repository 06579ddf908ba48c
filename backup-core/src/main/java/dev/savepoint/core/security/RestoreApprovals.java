package dev.savepoint.core.security;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import dev.savepoint.core.ApprovalException;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.ObjectNotFoundException;
import dev.savepoint.core.internal.ManifestCodec;
import dev.savepoint.core.internal.Probe;
import dev.savepoint.core.store.ByteSource;
import dev.savepoint.core.store.ObjectInfo;
import dev.savepoint.core.store.Store;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import org.jspecify.annotations.Nullable;

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
  /** Where in the repository requests and their signatures lie. */
  public static final String PREFIX = "_savepoint/approvals/";
  private static final ObjectMapper CANONICAL = new ObjectMapper().registerModule(new JavaTimeModule())
      .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
      .configure(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS, true);

  /** A request: what is to be restored (or deleted), where to, by whom, why, until when. */
  public record Request(String id, String requester, String plan, String backupId, @Nullable String manifestSha256,
      String target, @Nullable String reason, Instant createdAt, Instant expiresAt) {}

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
    return canonical(r, "restore-approval-v1");
  }

  /**
   * The bytes the requester signs: the same fields under another heading, so a requester's signature can never be
   * passed off as an approval.
   */
  public static byte[] requestDocument(Request r) {
    return canonical(r, "restore-request-v1");
  }

  /**
   * {@code text} as a terminal shows it safely: control characters (newlines, escape sequences, carriage returns) as
   * {@code \\uXXXX}, so a field cannot paint a line that is not there.
   */
  public static String printable(String text) {
    StringBuilder b = new StringBuilder();
    text.codePoints().forEach(c -> {
      if (Character.isISOControl(c) || c == 0x2028 || c == 0x2029 || Character.getType(c) == Character.FORMAT) {
        b.append(String.format("\\u%04x", c));
      } else {
        b.appendCodePoint(c);
      }
    });
    return b.toString();
  }

  /** What a person signing {@code r} is shown first: every field the signature covers, one per line. */
  public static String describe(Request raw) {
    Request r = new Request(printable(raw.id()), printable(raw.requester()), printable(raw.plan()),
        printable(raw.backupId()), raw.manifestSha256() == null ? null : printable(raw.manifestSha256()),
        printable(raw.target()), raw.reason() == null ? null : printable(raw.reason()), raw.createdAt(),
        raw.expiresAt());
    String digest = r.manifestSha256() == null ? "" : " (manifest SHA-256 " + r.manifestSha256() + ")";
    String operation = switch (r.target()) {
      case RECOVER_TARGET -> "recover " + r.plan().replaceFirst("^recovery:", "") + " as of " + r.backupId()
          + " (recovery file SHA-256 " + r.manifestSha256() + ")";
      case DELETE_TARGET -> "delete " + r.plan() + "/" + r.backupId() + digest;
      case PRUNE_TARGET -> "prune " + r.plan() + ": delete exactly the backups " + r.backupId();
      default -> "restore " + r.plan() + "/" + r.backupId() + digest + "\n  to:        " + r.target();
    };
    return "request " + r.id() + "\n  operation: " + operation + "\n  requester: " + r.requester() + "\n  reason:    "
        + r.reason() + "\n  expires:   " + r.expiresAt();
  }

  /** The target of a request to delete a backup, and of one to run a whole recovery. */
  public static final String DELETE_TARGET = "delete";

  public static final String RECOVER_TARGET = "recover";

  /** The target of a request to prune: its backup id is the comma-separated ids it deletes. */
  public static final String PRUNE_TARGET = "prune";

  private static byte[] canonical(Request r, String heading) {
    Map<String, Object> fields = new LinkedHashMap<>();
    fields.put("savepoint", heading);
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

  /**
   * Stores the requester's signature (an armored SSH signature over {@link #requestDocument}): a request counts for
   * nothing without one, and the key that made it — not a name anyone can type — says who the requester is, whose
   * own approvals then do not count. Written once.
   */
  public void signAsRequester(String requestId, String armoredSignature) throws IOException {
    Request r = load(requestId);
    if (!armoredSignature.contains("-----BEGIN SSH SIGNATURE-----")) {
      throw new ApprovalException("a request is signed with the requester's SSH key (ssh-keygen -Y sign -n "
          + Approvers.NAMESPACE + ")");
    }
    if (!store.putIfAbsent(PREFIX + r.id() + REQUESTER_SIGNATURE,
        armoredSignature.getBytes(StandardCharsets.UTF_8))) {
      throw new ApprovalException("request " + requestId + " is already signed by its requester");
    }
  }

  private static final String REQUESTER_SIGNATURE = ".requester.sig";

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
    Approvers.Signer requester;
    try (InputStream in = store.get(PREFIX + r.id() + REQUESTER_SIGNATURE)) {
      requester = approvers.verify(requestDocument(r), new String(in.readAllBytes(), StandardCharsets.UTF_8))
          .orElseThrow(() -> new ApprovalException("request " + requestId + " is signed by a key the approvers file "
              + "does not list for this (or by none): a request counts only when its requester's listed key signed it"));
    } catch (ObjectNotFoundException e) {
      throw new ApprovalException("request " + requestId + " is not signed by its requester: open requests with "
          + "savepoint approve --request … --sign-with <your SSH key>");
    }
    if (!requester.principal().equals(r.requester())) {
      throw new ApprovalException("request " + requestId + " names its requester " + r.requester() + " but is signed "
          + "by the key of " + requester.principal() + ": refused");
    }
    byte[] document = document(r);
    Map<String, String> approvedBy = new java.util.TreeMap<>();
    for (ObjectInfo o : store.list(PREFIX + r.id() + ".sigs/")) {
      try (InputStream in = store.get(o.key())) {
        approvers.verify(document, new String(in.readAllBytes(), StandardCharsets.UTF_8))
            .filter(signer -> !signer.principal().equals(requester.principal()))
            .ifPresent(signer -> approvedBy.putIfAbsent(signer.principal(), signer.fingerprint()));
      }
    }
    if (approvedBy.size() < quorum) {
      throw new ApprovalException("request " + requestId + " has valid signatures of " + approvedBy.size()
          + " approver(s) other than the requester " + requester.principal() + (approvedBy.isEmpty() ? "" : " ("
          + String.join(", ", approvedBy.keySet()) + ")") + "; " + quorum + " are required (signatures by unlisted "
          + "keys, over another request or by the requester do not count)");
    }
    Map<String, Object> keys = new java.util.TreeMap<>(approvedBy);
    keys.put(requester.principal() + " (requester)", requester.fingerprint());
    audit.append(String.join(",", approvedBy.keySet()), "approval-verified", r.plan() + "/" + r.backupId() + " -> "
        + r.target(), "approved", Map.of("request", r.id(), "approvers", List.copyOf(approvedBy.keySet()),
            "keys", keys));
    return new Approved(r, List.copyOf(approvedBy.keySet()), Instant.now());
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
