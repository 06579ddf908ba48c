package dev.savepoint.core.security;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.savepoint.core.ApprovalException;
import dev.savepoint.core.ObjectNotFoundException;
import dev.savepoint.core.internal.ManifestCodec;
import dev.savepoint.core.internal.Probe;
import dev.savepoint.core.store.ByteSource;
import dev.savepoint.core.store.ObjectInfo;
import dev.savepoint.core.store.Store;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Which operations need how many approvals, and who approves: decided by policy admins, not by the operator a
 * flag would leave it to. The repository holds the policy as numbered versions ({@code _savepoint/policy/},
 * each a canonical JSON {@link Document} stored under its digest, {@code v<n>-<sha256>.json}) with the admins' SSH
 * signatures beside it ({@code v<n>-<sha256>.sigs/}, namespace {@value #NAMESPACE}).
 *
 * <p>A version is <em>adopted</em> when enough admins signed it: version 1 by {@code adminQuorum} of its own admins
 * — or of the {@linkplain #pin pinned} admins where a host pins them —, every later version by {@code adminQuorum}
 * of the admins of the version before it. The policy in force is the last adopted version of the unbroken chain
 * from 1; a proposal not yet signed by enough admins, or anything planted, is not in force and blocks nothing.
 *
 * <p>The anchor: whoever can write the repository can delete objects, so a policy alone binds only operators who
 * cannot. A host that pins the admins' keys in {@value #PIN_FILE} (root-owned; where that file does not exist, the
 * file {@code $SAVEPOINT_POLICY_ADMINS} names) refuses every bound operation unless the repository holds a policy
 * those admins adopted. What remains open to a writer of the repository on a pinning host: deleting or editing the
 * newest versions, which rolls the policy back to an earlier adopted one (S3 Object Lock does not stop that: an
 * overwrite or a delete marker becomes the current object) — only policy admins should write {@code _savepoint/policy/}.
 */
public final class ApprovalPolicy {
  /** The SSH signature namespace of policy signatures: an approval of a restore never counts as one. */
  public static final String NAMESPACE = "savepoint-policy";

  /** Where a host pins the policy admins' keys ({@code allowed_signers} format). */
  public static final String PIN_FILE = "/etc/savepoint/policy-admins";

  /** Where in the repository the policy versions and their signatures lie. */
  public static final String PREFIX = "_savepoint/policy/";
  private static final ObjectMapper CANONICAL = new ObjectMapper()
      .configure(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS, true);

  /** The operations a policy can bind, by the name a policy document uses. */
  public enum Operation {
    RESTORE("restore"), RESTORE_PITR("restore-pitr"), RESTORE_PROVIDER("restore-provider"), DELETE("delete"),
    PRUNE("prune"), RECOVER("recover");

    private final String key;

    Operation(String key) {
      this.key = key;
    }

    public String key() {
      return key;
    }

    /** The operation a policy document names {@code key}. */
    public static Operation of(String key) {
      for (Operation o : values()) {
        if (o.key.equals(key)) {
          return o;
        }
      }
      throw new IllegalArgumentException("no operation '" + key + "' in an approval policy; one of "
          + java.util.Arrays.stream(values()).map(Operation::key).toList());
    }
  }

  /**
   * One version of the policy, as signed: its number, the admins ({@code allowed_signers} lines) and how many of
   * them adopt the next version, the approvers ({@code allowed_signers} lines) and the approvals each operation
   * needs (absent: none).
   */
  public record Document(int version, List<String> admins, int adminQuorum, List<String> approvers,
      Map<String, Integer> approvals, Instant createdAt) {
    public Document {
      if (version < 1 || adminQuorum < 1) {
        throw new IllegalArgumentException("a policy has a version and an admin quorum of at least 1");
      }
      admins = List.copyOf(admins);
      approvers = List.copyOf(approvers);
      approvals = Map.copyOf(new TreeMap<>(approvals));
      approvals.keySet().forEach(Operation::of);
      if (approvals.values().stream().anyMatch(n -> n < 0)) {
        throw new IllegalArgumentException("a policy cannot require a negative number of approvals");
      }
      if (Approvers.principalsOf(admins).size() < adminQuorum) {
        throw new IllegalArgumentException("an admin quorum of " + adminQuorum + " needs at least that many admins; "
            + "the policy names " + Approvers.principalsOf(admins).size());
      }
      if (approvals.values().stream().anyMatch(n -> n > 0) && Approvers.principalsOf(approvers).isEmpty()) {
        throw new IllegalArgumentException("a policy that requires approvals names the approvers");
      }
    }

    /** The bytes admins sign, and the stored form: compact JSON with its keys in a fixed order. */
    public byte[] canonical() {
      Map<String, Object> fields = new TreeMap<>();
      fields.put("savepoint", "approval-policy-v1");
      fields.put("version", version);
      fields.put("admins", admins);
      fields.put("adminQuorum", adminQuorum);
      fields.put("approvers", approvers);
      fields.put("approvals", new TreeMap<>(approvals));
      fields.put("createdAt", createdAt.toString());
      try {
        return CANONICAL.writeValueAsBytes(fields);
      } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
        throw new IllegalStateException(e);
      }
    }

    /** The approvals {@code operation} needs under this version. */
    public int required(Operation operation) {
      return approvals.getOrDefault(operation.key(), 0);
    }

    /** What an admin signing this version is shown: every field the signature covers. */
    public String describe() {
      StringBuilder b = new StringBuilder("approval policy version " + version + " (SHA-256 " + sha256() + ")\n");
      for (Operation o : Operation.values()) {
        b.append(String.format("  %-17s %d approval(s)%n", o.key() + ":", required(o)));
      }
      b.append("  approvers:        ").append(Approvers.principalsOf(approvers)).append('\n');
      b.append("  admins:           ").append(Approvers.principalsOf(admins)).append(", ").append(adminQuorum)
          .append(" of them adopt the next version\n");
      approvers.forEach(line -> b.append("    approver key: ").append(line).append('\n'));
      admins.forEach(line -> b.append("    admin key:    ").append(line).append('\n'));
      return b.append("  created:          ").append(createdAt).toString();
    }

    public String sha256() {
      byte[] bytes = canonical();
      return Probe.sha256Of(bytes, 0, bytes.length);
    }
  }

  /** A version awaiting signatures, and the admins (of the version before it, or pinned) who signed it so far. */
  public record Proposal(Document document, List<String> signedBy, int needed) {}

  /**
   * The adopted policy in force, and the proposals for the version after it; {@code contested}: several proposals
   * of that version each signed by enough admins (on a host without a pin, anyone who can write the repository can
   * adopt a version 1 of their own) — then no version is trusted until admins delete those they did not adopt.
   */
  public record State(Optional<Document> inForce, List<Proposal> proposals, Optional<Path> pin,
      List<Document> contested) {}

  private final Store store;
  private final Optional<Path> pin;

  /** The policy of the repository in {@code store}, under this host's {@link #pin()}. */
  public ApprovalPolicy(Store store) {
    this(store, pin());
  }

  /** The policy of the repository in {@code store}, with {@code pin} the admins' keys pinned (empty: none). */
  public ApprovalPolicy(Store store, Optional<Path> pin) {
    this.store = Objects.requireNonNull(store);
    this.pin = Objects.requireNonNull(pin);
  }

  /** The pinned admins of this host: {@value #PIN_FILE}, else the file {@code $SAVEPOINT_POLICY_ADMINS} names. */
  public static Optional<Path> pin() {
    Path system = Path.of(PIN_FILE);
    if (Files.exists(system)) {
      return Optional.of(system);
    }
    String env = System.getenv("SAVEPOINT_POLICY_ADMINS");
    return env == null || env.isBlank() ? Optional.empty() : Optional.of(Path.of(env));
  }

  /**
   * Reads the chain of versions and says which is in force, checking every signature with {@code ssh-keygen}. Each
   * version may have several proposals (stored by digest, so none can squat a number); the adopted one continues the
   * chain, and two adopted ones stop it ({@link State#contested}).
   */
  public State state() throws IOException {
    Approvers signers = pin.isPresent() ? Approvers.fromAllowedSigners(pin.get()).inNamespace(NAMESPACE) : null;
    Document inForce = null;
    for (int v = 1; ; v++) {
      List<Proposal> proposals = new ArrayList<>();
      for (Document doc : candidates(v)) {
        Approvers by = signers != null ? signers : admins(doc);
        int quorum = inForce != null ? inForce.adminQuorum() : doc.adminQuorum();
        proposals.add(new Proposal(doc, signedBy(doc, by), quorum));
      }
      List<Document> adopted = proposals.stream().filter(p -> p.signedBy().size() >= p.needed())
          .map(Proposal::document).toList();
      if (adopted.size() != 1) {
        return new State(Optional.ofNullable(inForce), proposals, pin, adopted.size() > 1 ? adopted : List.of());
      }
      inForce = adopted.get(0);
      signers = admins(inForce);
    }
  }

  /** The policy in force; {@link ApprovalException} if this host pins admins and the repository has none of theirs. */
  public Optional<Document> inForce() throws IOException {
    State state = state();
    if (!state.contested().isEmpty()) {
      throw new ApprovalException("approval policy version " + state.contested().get(0).version() + " is contested: "
          + state.contested().size() + " proposals (SHA-256 " + String.join(", ", state.contested().stream()
              .map(d -> d.sha256().substring(0, 12)).toList()) + ") are each signed by enough admins; refusing until "
          + "the admins delete the ones they did not adopt (savepoint policy show)");
    }
    if (state.inForce().isEmpty() && state.pin().isPresent()) {
      throw new ApprovalException("this host pins approval-policy admins (" + state.pin().get() + ") but the "
          + "repository holds no policy they adopted: refusing. Admins: savepoint policy propose … and policy sign");
    }
    return state.inForce();
  }

  /**
   * Stores {@code doc} as a proposal for the next version (the one after the version in force): in force once enough
   * admins sign it. Never overwrites anything; another proposal for the same number may exist beside it.
   */
  public void propose(Document doc) throws IOException {
    int next = state().inForce().map(Document::version).orElse(0) + 1;
    if (doc.version() != next) {
      throw new ApprovalException("the next policy version is " + next + ", not " + doc.version());
    }
    if (!store.putIfAbsent(key(doc), doc.canonical())) {
      throw new ApprovalException("this policy version " + doc.version() + " is already proposed: sign it with "
          + "savepoint policy sign " + doc.version() + " --sha256 " + doc.sha256().substring(0, 12));
    }
  }

  /** Stores an admin's armored SSH signature over {@code doc}'s canonical document. */
  public void sign(Document doc, String armoredSignature) throws IOException {
    if (!armoredSignature.contains("-----BEGIN SSH SIGNATURE-----")) {
      throw new ApprovalException("a policy is signed with an admin's SSH key (ssh-keygen -Y sign -n " + NAMESPACE
          + ")");
    }
    byte[] bytes = armoredSignature.getBytes(StandardCharsets.UTF_8);
    store.put(signatures(doc) + Probe.sha256Of(bytes, 0, bytes.length) + ".sig", ByteSource.wrap(bytes));
  }

  /** Every proposal stored for {@code version} that reads as that version in canonical form, by digest. */
  public List<Document> candidates(int version) throws IOException {
    List<Document> found = new ArrayList<>();
    String prefix = PREFIX + String.format("v%06d-", version);
    for (ObjectInfo o : store.list(prefix)) {
      String name = o.key().substring(prefix.length());
      if (name.matches("[0-9a-f]{64}\\.json")) {
        load(o.key()).filter(d -> d.version() == version && name.equals(d.sha256() + ".json")).ifPresent(found::add);
      }
    }
    found.sort(java.util.Comparator.comparing(Document::sha256));
    return found;
  }

  private Optional<Document> load(String key) throws IOException {
    try (InputStream in = store.get(key)) {
      byte[] bytes = in.readAllBytes();
      Map<String, Object> fields = ManifestCodec.JSON.readValue(bytes,
          new com.fasterxml.jackson.core.type.TypeReference<LinkedHashMap<String, Object>>() { });
      fields.remove("savepoint");
      Document doc = ManifestCodec.JSON.convertValue(fields, Document.class);
      // Only the canonical form counts: the bytes admins signed are the bytes stored.
      return java.util.Arrays.equals(doc.canonical(), bytes) ? Optional.of(doc) : Optional.empty();
    } catch (ObjectNotFoundException e) {
      return Optional.empty();
    } catch (com.fasterxml.jackson.core.JsonProcessingException | IllegalArgumentException e) {
      return Optional.empty(); // unreadable: not a policy (and so never in force)
    }
  }

  /** The admins (principals) whose valid signatures over {@code doc} are stored. */
  private List<String> signedBy(Document doc, Approvers admins) throws IOException {
    TreeSet<String> principals = new TreeSet<>();
    byte[] document = doc.canonical();
    for (ObjectInfo o : store.list(signatures(doc))) {
      try (InputStream in = store.get(o.key())) {
        admins.verify(document, new String(in.readAllBytes(), StandardCharsets.UTF_8))
            .ifPresent(signer -> principals.add(signer.principal()));
      } catch (ObjectNotFoundException e) {
        // deleted while listing: counts for nothing
      }
    }
    return new ArrayList<>(principals);
  }

  private static Approvers admins(Document doc) throws IOException {
    return Approvers.fromText(String.join("\n", doc.admins()) + "\n", "the admins of policy version "
        + doc.version()).inNamespace(NAMESPACE);
  }

  /** The approvers a document names, checking approvals of restores. */
  public static Approvers approvers(Document doc) throws IOException {
    return Approvers.fromText(String.join("\n", doc.approvers()) + "\n", "the approvers of policy version "
        + doc.version());
  }

  private static String key(Document doc) {
    return PREFIX + String.format("v%06d-%s.json", doc.version(), doc.sha256());
  }

  private static String signatures(Document doc) {
    return PREFIX + String.format("v%06d-%s.sigs/", doc.version(), doc.sha256());
  }
}
