package dev.savepoint.core;

import dev.savepoint.core.internal.BackupIds;
import dev.savepoint.core.internal.ChunkVerifyingInputStream;
import dev.savepoint.core.internal.ManifestCodec;
import dev.savepoint.core.internal.PagedListing;
import dev.savepoint.core.internal.Probe;
import dev.savepoint.core.internal.VerifyingInputStream;
import dev.savepoint.core.operations.Retention;
import dev.savepoint.core.security.AuditLog;
import dev.savepoint.core.security.ManifestSigner;
import dev.savepoint.core.store.ByteSource;
import dev.savepoint.core.store.ObjectInfo;
import dev.savepoint.core.store.Store;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.jspecify.annotations.Nullable;

/**
 * Savepoint's layout on a {@link Store}: {@code <plan>/<backup-id>/<artifact>} and
 * {@code <plan>/<backup-id>/manifest.json}, the manifest written last. Only backups with a manifest exist:
 * {@link #list} never shows the remains of a failed or killed backup; {@link #deleteOrphans} removes them.
 * Thread-safe.
 */
// Over 500 lines on purpose: the one class that knows the repository's layout and its trust rules. Every read and write
// of a manifest, document, lease or artifact goes through it, so no caller can skip a rule (signatures, the order of
// manifest and completion marker, leases before deletes). The mechanics live beside it: Leases, Reclaim, ObjectIndex.
public final class Repository {
  public static final String MANIFEST = "manifest.json";

  public static final String SIGNATURE = "manifest.sig";

  private final Store store;
  private final @Nullable ManifestSigner signer;
  private final Secrets secrets;
  /** The repository's id once read or created; shared by the views {@link #signedWith} and {@link #withSecrets} make. */
  private final java.util.concurrent.atomic.AtomicReference<String> id;

  public Repository(Store store) {
    this(store, null, Secrets.none(), new java.util.concurrent.atomic.AtomicReference<>());
  }

  private Repository(Store store, @Nullable ManifestSigner signer, Secrets secrets,
      java.util.concurrent.atomic.AtomicReference<String> id) {
    this.store = Objects.requireNonNull(store, "store");
    this.signer = signer;
    this.secrets = Objects.requireNonNull(secrets, "secrets");
    this.id = id;
  }

  /**
   * This repository, signing every manifest it writes with {@code signer} and refusing (with
   * {@link IntegrityException}) any manifest whose signature is missing or does not match.
   */
  public Repository signedWith(ManifestSigner signer) {
    return new Repository(store, Objects.requireNonNull(signer), secrets, id);
  }

  /**
   * This repository with the key material its backups need given once: {@link #restore(Manifest, RestoreTarget)},
   * {@link Verifiers#roundTrip()} and drills through it use {@code secrets}. Secrets are also requirements: an
   * OpenPGP passphrase among them means every artifact read must be encrypted (see
   * {@link Transforms#checkProtection}) and, without a signer of its own, that every manifest and document is
   * signed with a key derived from the passphrase and this repository's {@link #id()}.
   */
  public Repository withSecrets(Secrets secrets) {
    return new Repository(store, signer, secrets, id);
  }

  /** The secrets given with {@link #withSecrets} ({@link Secrets#none()} otherwise). */
  public Secrets secrets() {
    return secrets;
  }

  /**
   * Whether what this repository reads is authenticated: it has a {@link ManifestSigner}, or its secrets hold one
   * to derive a signing key from (a plan's passphrase). Without, anyone who can write the store can plant backups.
   */
  public boolean authenticated() {
    return signer != null || Transforms.signingSecret(secrets).isPresent();
  }

  /** Where the repository's id lives: written once, when the first signed manifest or document is written. */
  public static final String ID_KEY = "_savepoint/repository-id";

  /**
   * The repository's id, made at its first signed write: every signature covers it (a manifest copied from another
   * repository that shares the key fails its check), and keys derived from a passphrase are salted with it. Empty
   * for a repository that never signed anything.
   */
  public Optional<String> id() throws IOException {
    String known = id.get();
    if (known != null) {
      return known.equals(NO_ID) ? Optional.empty() : Optional.of(known);
    }
    return readId();
  }

  /** Remembered for a repository found without an id, so that reading many manifests reads the id once. */
  private static final String NO_ID = "";

  private Optional<String> readId() throws IOException {
    try (InputStream in = store.get(ID_KEY)) {
      String stored = new String(in.readNBytes(200), java.nio.charset.StandardCharsets.UTF_8).strip();
      if (!stored.matches("[0-9a-f-]{36}")) {
        throw new IntegrityException(ID_KEY + " in " + describe() + " is not a repository id: every signature of "
            + "this repository is refused until it holds the id it was created with");
      }
      id.set(stored);
      return Optional.of(stored);
    } catch (ObjectNotFoundException e) {
      id.compareAndSet(null, NO_ID);
      return Optional.empty();
    }
  }

  /** The id, created now if the repository has none (before its first signed write). */
  private String createId() throws IOException {
    Optional<String> existing = id.get() == null || id.get().equals(NO_ID) ? readId() : id();
    if (existing.isPresent()) {
      return existing.get();
    }
    if (holdsSignatures()) {
      throw new IntegrityException(ID_KEY + " is missing from " + describe() + ", which holds signed backups: "
          + "restore it (from a copy, a replica or a backup of the bucket); a new id would leave every signature "
          + "behind, and nothing is signed until then");
    }
    store.put(ID_KEY, ByteSource.wrap(java.util.UUID.randomUUID().toString()
        .getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    // Read back: of two first writers racing, both go on with the id that was stored last.
    return readId().orElseThrow(() -> new StoreException("the repository id written to " + ID_KEY + " in "
        + describe() + " cannot be read back"));
  }

  /** A signed record of when this repository began signing: no backup begun after it can be a legacy one. */
  public static final String SIGNING_SINCE_KEY = "_savepoint/signing-since";

  /** Whether any plan of this repository holds a signed manifest: one listing per plan, only when the id is missing. */
  private boolean holdsSignatures() throws IOException {
    for (String plan : plans()) {
      for (ObjectInfo o : store.list(plan + "/")) {
        if (o.key().endsWith("/" + SIGNATURE)) {
          return true;
        }
      }
    }
    return false;
  }

  /**
   * The signer in force: this repository's own, else one derived from its secrets' signing secret and its id
   * (created first when {@code writing}); null if neither exists.
   */
  private @Nullable ManifestSigner signer(boolean writing) throws IOException {
    ManifestSigner with;
    if (signer != null) {
      with = signer;
    } else {
      Optional<char[]> secret = Transforms.signingSecret(secrets);
      if (secret.isEmpty()) {
        return null;
      }
      // Not cleared after use: a Secrets implementation that hands out its own array would lose the passphrase.
      with = ManifestSigner.derived(secret.get(), writing ? createId() : id().orElse("none"));
    }
    if (writing && with.canSign()) {
      createId(); // known after the first time: no store call
      if (!signingSinceWritten) {
        recordSigningSince(with);
      }
    }
    return with;
  }

  /** Whether this process has seen (or written) the signing-since record; once is enough. */
  private volatile boolean signingSinceWritten;

  private void recordSigningSince(ManifestSigner with) throws IOException {
    if (store.stat(SIGNING_SINCE_KEY).isEmpty()) {
      byte[] now = Instant.now().toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
      store.put(SIGNING_SINCE_KEY + ".sig", signature(with, documentSigned(SIGNING_SINCE_KEY, now)));
      store.put(SIGNING_SINCE_KEY, ByteSource.wrap(now));
    }
    signingSinceWritten = true;
  }

  public Store store() {
    return store;
  }

  /** The repository's audit log, signed with its manifest signer if it has one. */
  public AuditLog auditLog() {
    try {
      return new AuditLog(store, signer(true));
    } catch (IOException e) {
      throw new java.io.UncheckedIOException("cannot read the id of " + describe() + ": " + e.getMessage(), e);
    }
  }

  public String describe() {
    return store.describe();
  }

  static String manifestKey(String plan, String id) {
    return plan + "/" + id + "/" + MANIFEST;
  }

  /**
   * Written after the manifest (its SHA-256), removed before it: a backup whose marker is there but whose manifest is
   * not lost its manifest — DAMAGED, kept — while one with neither is a killed run's remains.
   */
  static final String COMPLETE = "manifest.complete";

  static String completeKey(String plan, String id) {
    return plan + "/" + id + "/" + COMPLETE;
  }

  /** A backup stops existing: its completion marker goes first, then its manifest (its objects after both). */
  private void unpublish(String plan, String id) throws IOException {
    store.delete(completeKey(plan, id));
    store.delete(manifestKey(plan, id));
  }

  /**
   * True for the repository's own small documents (manifests, signatures, drill reports, leases, audit log,
   * approvals), as opposed to artifacts. Stores with archive storage classes keep these readable (STANDARD),
   * so listing, planning and auditing never wait for an archive restore.
   */
  public static boolean isMetadataKey(String key) {
    return key.endsWith("/" + MANIFEST) || key.endsWith("/" + COMPLETE) || key.endsWith(".sig")
        || key.contains("/" + DRILLS) || key.contains("/" + VERIFICATIONS) || key.contains("/leases/")
        || key.startsWith("_savepoint/") || key.contains("/wal/") && (key.endsWith(".json") || key.endsWith(".claim"));
  }

  /** Names of plans that have at least one object in the repository: one listing of folders. */
  public List<String> plans() throws IOException {
    TreeSet<String> plans = new TreeSet<>();
    for (String name : store.folders("")) {
      if (!name.isEmpty() && !name.startsWith("_") && BackupIds.isValidPlan(name)) {
        plans.add(name);
      }
    }
    return List.copyOf(plans);
  }

  /**
   * Top-level folders that are no plan (a name no plan can have: someone's copy, a stray upload): {@link #plans}
   * leaves them out, so one of them never fails every command; commands name them as a warning.
   */
  public List<String> strays() throws IOException {
    List<String> strays = new ArrayList<>();
    for (String name : store.folders("")) {
      if (!name.isEmpty() && !name.startsWith("_") && !BackupIds.isValidPlan(name)) {
        strays.add(name);
      }
    }
    return strays;
  }

  /**
   * The one order of backups, shared by {@link #list}, {@link BackupSelector}s and {@link Retention}: by start
   * time, then id.
   */
  public static final java.util.Comparator<Manifest> BACKUP_ORDER =
      java.util.Comparator.comparing(Manifest::startedAt).thenComparing(Manifest::id);

  /**
   * Complete backups of {@code plan}, oldest first ({@link #BACKUP_ORDER}). A malformed manifest fails the
   * listing, naming it; misplaced and future-dated ones are left out (and logged).
   */
  public List<Manifest> list(String plan) throws IOException {
    List<Manifest> backups = new ArrayList<>();
    for (String id : backupIds(plan)) {
      readable(plan, id).ifPresent(backups::add);
    }
    backups.sort(BACKUP_ORDER);
    return backups;
  }

  /**
   * The newest complete backup of {@code plan}, if any: one listing of folders and a manifest read or two, however
   * many backups the plan has.
   */
  public Optional<Manifest> newest(String plan) throws IOException {
    return newest(plan, 1).stream().findFirst();
  }

  /**
   * The newest {@code count} complete backups of {@code plan}, newest first: one listing of folders and about
   * {@code count} manifest reads, however many backups the plan has.
   */
  public List<Manifest> newest(String plan, int count) throws IOException {
    List<String> ids = backupIds(plan);
    List<Manifest> newest = new ArrayList<>();
    for (int i = ids.size() - 1; i >= 0 && newest.size() < count; i--) {
      readable(plan, ids.get(i)).ifPresent(newest::add);
    }
    return newest;
  }

  /** A backup whose manifest cannot be trusted: unreadable, of an unknown format, wrongly signed, misplaced. */
  public record Damaged(String plan, String id, String reason) {}

  /**
   * The backups of {@code plan} that {@link #list} leaves out because their manifest is damaged, with the
   * reason: one damaged backup affects only itself. {@link #deleteBackup} or {@link #quarantine} remove it.
   */
  public List<Damaged> damaged(String plan) throws IOException {
    List<Damaged> result = new ArrayList<>();
    for (String id : backupIds(plan)) {
      try {
        if (trusted(plan, id).isEmpty()) {
          Manifest m = read(plan, id);
          String misplaced = misplacement(plan, id, m);
          result.add(new Damaged(plan, id, misplaced != null ? misplaced
              : "dated in the future (" + m.startedAt() + "): someone else wrote it, or a clock is wrong"));
        }
      } catch (BackupNotFoundException noManifest) {
        if (lostManifest(plan, id)) {
          result.add(new Damaged(plan, id, "its manifest is missing, but the backup completed (its completion marker "
              + "is there): put the manifest back from a copy of the repository, or delete the backup explicitly"));
        }
        // else running, never finished, or deleted meanwhile: not damaged
      } catch (IntegrityException | UnsupportedFormatException ex) {
        result.add(new Damaged(plan, id, String.valueOf(ex.getMessage())));
      }
    }
    return result;
  }

  /**
   * True if the manifest of a completed backup is gone: the marker is there, the manifest is not, and the marker is
   * still there. The marker is written after the manifest and deleted before it, so a backup being written (manifest
   * and marker appear between two looks) or being deleted (both go) is never taken for one whose manifest was lost.
   */
  private boolean lostManifest(String plan, String id) throws IOException {
    String marker = completeKey(plan, id);
    return store.stat(marker).isPresent() && store.stat(manifestKey(plan, id)).isEmpty()
        && store.stat(marker).isPresent();
  }

  /** {@link #trusted}, but a damaged manifest is skipped (and logged) instead of failing the whole listing. */
  private Optional<Manifest> readable(String plan, String id) throws IOException {
    try {
      return trusted(plan, id);
    } catch (BackupNotFoundException prunedMeanwhile) {
      return Optional.empty(); // deleted between the listing and the read: not a backup any more
    } catch (IntegrityException | UnsupportedFormatException e) {
      org.slf4j.LoggerFactory.getLogger(Repository.class).warn("skipping damaged backup {} of plan '{}': {}", id, plan,
          e.getMessage());
      return Optional.empty();
    }
  }

  /**
   * Deletes a backup by its location, also one whose manifest is damaged: the manifest first, then its objects
   * (except those other backups of the plan reuse).
   */
  public void deleteBackup(String plan, String id) throws IOException {
    BackupIds.requireValidPlan(plan);
    if (!BackupIds.isId(id)) {
      throw new IllegalArgumentException("not a backup id: " + id);
    }
    unpublish(plan, id);
    List<Manifest> remaining = list(plan);
    if (Reclaim.readByNone(remaining, id)) {
      PagedListing.iterate(() -> new Reclaim(this, plan).deleteDirectory(id));
      return;
    }
    String prefix = plan + "/" + id + "/";
    deleteObjects(prefix, sharedKeys(remaining, key -> key.startsWith(prefix)));
  }

  /** Where {@link #quarantine} moves backups: {@code _quarantine/<plan>/<id>/...}, restorable by hand. */
  public static final String QUARANTINE = "_quarantine/";

  /**
   * Moves a backup (also a damaged one) out of its plan, under {@value #QUARANTINE}: no listing, selector or
   * prune sees it any more, and every object stays as it was for inspection or a manual restore. Objects that
   * other backups of the plan reuse are copied there and also stay where they are: those backups still need them.
   */
  public int quarantine(String plan, String id) throws IOException {
    BackupIds.requireValidPlan(plan);
    if (!BackupIds.isId(id)) {
      throw new IllegalArgumentException("not a backup id: " + id);
    }
    String prefix = plan + "/" + id + "/";
    String manifestKey = manifestKey(plan, id);
    boolean hasManifest = store.stat(manifestKey).isPresent();
    // The marker and the manifest move first, so the backup stops existing in its plan before anything else changes.
    if (store.stat(completeKey(plan, id)).isPresent()) {
      moveToQuarantine(completeKey(plan, id), false);
    }
    if (hasManifest) {
      moveToQuarantine(manifestKey, false);
    }
    List<Manifest> remaining = list(plan);
    Set<String> shared = Reclaim.readByNone(remaining, id) ? Set.of()
        : sharedKeys(remaining, key -> key.startsWith(prefix));
    int[] moved = {hasManifest ? 1 : 0};
    PagedListing.iterate(() -> {
      for (ObjectInfo o : store.listing(prefix)) { // streamed: a bucket backup's directory holds the bucket
        moveToQuarantine(o.key(), shared.contains(o.key()));
        moved[0]++;
      }
    });
    if (moved[0] == 0) {
      throw new BackupNotFoundException("no backup " + id + " of plan '" + plan + "' in " + describe());
    }
    return moved[0];
  }

  /** Copies {@code key} under {@value #QUARANTINE}, and deletes it unless a remaining backup reads it. */
  private void moveToQuarantine(String key, boolean keep) throws IOException {
    try (InputStream in = store.get(key)) {
      store.put(QUARANTINE + key, in);
    }
    if (!keep) {
      store.delete(key);
    }
  }

  /** How far a backup's time may lie ahead of this clock before the backup is ignored. */
  static final Duration CLOCK_SKEW = Duration.ofMinutes(5);

  /**
   * The manifest at {@code plan}/{@code id}, unless it is misplaced or dated in the future: such a backup is
   * ignored (and reported) by listings, selectors, prune, copies, the scheduler and the RPO monitor, so a
   * manifest copied from another plan cannot be restored as this plan's, and a far-future one cannot make
   * backups look fresh.
   */
  private Optional<Manifest> trusted(String plan, String id) throws IOException {
    Manifest m = read(plan, id);
    String misplaced = misplacement(plan, id, m);
    if (misplaced != null) {
      org.slf4j.LoggerFactory.getLogger(Repository.class).warn("ignoring backup {} of plan '{}': {}", id, plan, misplaced);
      return Optional.empty();
    }
    Instant latest = Instant.now().plus(CLOCK_SKEW);
    if (BackupIds.startTime(id).isAfter(latest) || m.startedAt().isAfter(latest) || m.finishedAt().isAfter(latest)) {
      org.slf4j.LoggerFactory.getLogger(Repository.class).warn("ignoring backup {} of plan '{}' in {}: it is dated "
          + "in the future ({}); someone else wrote it, or a clock is wrong", id, plan, describe(), m.startedAt());
      return Optional.empty();
    }
    return Optional.of(m);
  }

  /**
   * The ids of the backup directories of {@code plan}, complete or not, in id (= time) order: one listing of
   * folders, however many objects they hold (a bucket backup's directory has as many as the bucket).
   */
  private List<String> backupIds(String plan) throws IOException {
    BackupIds.requireValidPlan(plan);
    List<String> ids = new ArrayList<>();
    for (String name : store.folders(plan + "/")) {
      if (BackupIds.isId(name)) {
        ids.add(name);
      }
    }
    ids.sort(null);
    return ids;
  }

  /** The id of the backup of {@code plan} whose directory holds {@code key}, or null if it lies in none. */
  static @Nullable String backupIdOf(String plan, String key) {
    if (!key.startsWith(plan + "/")) {
      return null;
    }
    int slash = key.indexOf('/', plan.length() + 1);
    String id = slash < 0 ? "" : key.substring(plan.length() + 1, slash);
    return BackupIds.isId(id) ? id : null;
  }

  /**
   * The manifest of backup {@code id} of {@code plan}, checked against its signature (if this repository
   * requires one) and its location: a manifest whose own plan and id differ from where it lies is refused.
   */
  public Manifest manifest(String plan, String id) throws IOException {
    Manifest manifest = read(plan, id);
    String misplaced = misplacement(plan, id, manifest);
    if (misplaced != null) {
      throw new IntegrityException(misplaced);
    }
    return manifest;
  }

  private static @Nullable String misplacement(String plan, String id, Manifest manifest) {
    if (manifest.plan().equals(plan) && manifest.id().equals(id)) {
      return null;
    }
    return "manifest " + manifestKey(plan, id) + " describes backup " + manifest.id() + " of plan '" + manifest.plan()
        + "': a manifest is valid only where it was written; it was copied or moved here";
  }

  private Manifest read(String plan, String id) throws IOException {
    String key = manifestKey(plan, id);
    byte[] bytes;
    try (InputStream in = store.get(key)) {
      bytes = in.readAllBytes();
    } catch (ObjectNotFoundException e) {
      throw new BackupNotFoundException("no backup " + id + " of plan '" + plan + "' in " + describe());
    }
    ManifestSigner in = signer(false);
    if (in != null) {
      try {
        checkSignature(in, "manifest " + key, plan + "/" + id + "/" + SIGNATURE, manifestSigned(bytes));
      } catch (IntegrityException e) {
        if (signer == null && String.valueOf(e.getMessage()).contains("signature check")
            && Transforms.refuted(ManifestCodec.read(key, bytes), secrets)) {
          // One such backup among good ones was written by someone else (planted); all of them: the key is wrong.
          throw new IntegrityException(e.getMessage() + "; " + OTHER_PASSPHRASE);
        }
        throw e;
      }
    }
    return ManifestCodec.read(key, bytes);
  }

  /**
   * IntegrityException unless the signature at {@code sigKey} is {@code signer}'s signature of {@code signed}.
   */
  private void checkSignature(ManifestSigner signer, String what, String sigKey, byte[] signed) throws IOException {
    String text;
    try (InputStream in = store.get(sigKey)) {
      text = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).strip();
    } catch (ObjectNotFoundException e) {
      throw new IntegrityException(what + " is not signed, but this repository requires "
          + signer.algorithm() + " signatures: it was written without the key (planted?), or before signing was the "
          + "default");
    }
    String[] parts = text.split(":", 2);
    byte[] signature;
    try {
      signature = java.util.Base64.getDecoder().decode(parts.length == 2 ? parts[1] : "");
    } catch (IllegalArgumentException e) {
      signature = new byte[0];
    }
    if (parts.length != 2 || !parts[0].equals(signer.algorithm()) || !signer.verify(signed, signature)) {
      throw new IntegrityException(what + " fails its " + signer.algorithm()
          + " signature check: it was modified, copied from another repository, or signed with another key");
    }
  }

  private static ByteSource signature(ManifestSigner signer, byte[] signed) {
    String sig = signer.algorithm() + ":" + java.util.Base64.getEncoder().encodeToString(signer.sign(signed));
    return ByteSource.wrap(sig.getBytes(java.nio.charset.StandardCharsets.UTF_8));
  }

  /**
   * Writes a small document Savepoint keeps beside backups (a WAL record, a drill or recovery report) at
   * {@code key}. When this repository signs, the signature — over the key and the content, so a document can be
   * neither changed nor moved to another name — is written first, at {@code key + ".sig"}. A signer that can
   * only verify (an Ed25519 public key) writes the document unsigned, and signed readers then refuse it.
   */
  public void writeDocument(String key, byte[] content) throws IOException {
    ManifestSigner with = signer(true);
    if (with != null && with.canSign()) {
      store.put(key + ".sig", signature(with, documentSigned(key, content)));
    }
    store.put(key, ByteSource.wrap(content));
  }

  /**
   * The document at {@code key} ({@link ObjectNotFoundException} if there is none). When this repository signs,
   * an unsigned, wrongly signed, changed or moved document is an {@link IntegrityException}.
   */
  public byte[] readDocument(String key) throws IOException {
    for (int attempt = 1; ; attempt++) {
      byte[] content;
      try (InputStream in = store.get(key)) {
        content = in.readAllBytes();
      }
      ManifestSigner with = signer(false);
      if (with == null) {
        return content;
      }
      try {
        checkSignature(with, "document " + key, key + ".sig", documentSigned(key, content));
        return content;
      } catch (IntegrityException e) {
        // A document replaced (or deleted) between the two reads pairs one version with the other's signature: read
        // both again. A changed document keeps failing, and fails.
        if (attempt == DOCUMENT_READS) {
          throw e;
        }
        try {
          Thread.sleep(25L * attempt);
        } catch (InterruptedException interrupted) {
          Thread.currentThread().interrupt();
          throw e;
        }
      }
    }
  }

  /** How often a document whose signature does not hold is read again before that is an error. */
  private static final int DOCUMENT_READS = 5;

  /** Deletes a document and its signature. */
  public void deleteDocument(String key) throws IOException {
    store.delete(key);
    store.delete(key + ".sig");
  }

  /** What a manifest's signature covers: the repository's id and the manifest (which names its plan and id). */
  private byte[] manifestSigned(byte[] manifest) throws IOException {
    return bound("savepoint-manifest\n" + id().orElse("none") + "\n", manifest);
  }

  /** What a document's signature covers: the repository's id, the document's key and its content. */
  private byte[] documentSigned(String key, byte[] content) throws IOException {
    return bound("savepoint-document\n" + id().orElse("none") + "\n" + key + "\n", content);
  }

  private static byte[] bound(String header, byte[] content) {
    byte[] name = header.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    byte[] signed = java.util.Arrays.copyOf(name, name.length + content.length);
    System.arraycopy(content, 0, signed, name.length, content.length);
    return signed;
  }

  /** Said of a backup whose recorded passphrase check value the supplied passphrase does not match. */
  private static final String OTHER_PASSPHRASE = "it was written with another passphrase than the one supplied";

  /**
   * The backup {@code selector} picks, or {@link BackupNotFoundException}. When no backup of the plan is intact and
   * every one was written with another passphrase than the one supplied, that passphrase is wrong: a
   * {@link CryptoException}.
   */
  public Manifest select(String plan, BackupSelector selector) throws IOException {
    List<Manifest> intact = list(plan);
    Optional<Manifest> chosen = selector.select(intact);
    if (chosen.isPresent()) {
      return chosen.get();
    }
    List<Damaged> damaged = damaged(plan);
    if (intact.isEmpty() && !damaged.isEmpty() && damaged.stream().allMatch(d -> d.reason().contains(OTHER_PASSPHRASE))) {
      throw new CryptoException("wrong passphrase: none of the " + damaged.size() + " backup(s) of plan '" + plan
          + "' was written with it (each records a check value of its passphrase)");
    }
    if (!damaged.isEmpty()) {
      throw new IntegrityException("no intact backup of plan '" + plan + "' matches " + selector.describe() + " in "
          + describe() + "; damaged backups were skipped: " + String.join("; ",
              damaged.stream().map(d -> d.id() + " (" + d.reason() + ")").toList()));
    }
    throw new BackupNotFoundException("no complete backup of plan '" + plan + "' matches " + selector.describe()
        + " in " + describe());
  }

  void writeManifest(Manifest manifest) throws IOException {
    byte[] bytes = ManifestCodec.write(manifest);
    ManifestSigner with = signer(true);
    if (with != null) {
      store.put(manifest.plan() + "/" + manifest.id() + "/" + SIGNATURE, signature(with, manifestSigned(bytes)));
    }
    store.put(manifestKey(manifest.plan(), manifest.id()), ByteSource.wrap(bytes));
    try {
      store.put(completeKey(manifest.plan(), manifest.id()), ByteSource.wrap(
          Probe.sha256Of(bytes, 0, bytes.length).getBytes(java.nio.charset.StandardCharsets.US_ASCII)));
    } catch (IOException e) {
      // The backup is complete (its manifest is there); without the marker a lost manifest is not told from a
      // killed run: said, not failed.
      org.slf4j.LoggerFactory.getLogger(Repository.class).warn("backup {} of plan '{}' is complete, but its "
          + "completion marker could not be written: {}", manifest.id(), manifest.plan(), e.getMessage());
    }
  }

  /** The outcome of {@link #adopt}ing one backup: signed, already signed, or why it was left unsigned. */
  public record Adoption(String id, String outcome, String detail) {
    public boolean signed() {
      return outcome.equals("signed");
    }
  }

  /**
   * Signs the backups of {@code plan} named in {@code chosen} (null: every one) that this repository's signer does
   * not already vouch for — written before signing was the default — after verifying each with {@code verifiers}
   * (pass {@link Verifiers#standard(boolean, Secrets) standard(true, key)}: for an encrypted plan, decrypting every
   * artifact with the key proves a holder of the key wrote it, though not which repository it was written to). A
   * backup begun after the repository began signing (a signed record) is never adopted; one that fails is named and
   * left as it was. With {@code dryRun}, only says what it would do. Refused without a signer.
   */
  public List<Adoption> adopt(String plan, @Nullable Set<String> chosen, List<Verifier> verifiers, boolean dryRun)
      throws IOException {
    if (signer(false) == null) {
      throw new ConfigurationException("nothing to sign with: give this repository a signer or the plan's passphrase");
    }
    if (id().isEmpty() && holdsSignatures()) {
      throw new IntegrityException(ID_KEY + " is missing from " + describe() + ", which holds signed backups: restore "
          + "it before adopting anything (with a new id, every backup would look unsigned)");
    }
    // Backups begun after the repository began signing were written by someone without the key: never adopted. When
    // it began is a signed record, so a writer of the repository cannot move it.
    Optional<Instant> signingSince = Optional.empty();
    if (id().isPresent()) {
      try {
        signingSince = Optional.of(Instant.parse(new String(readDocument(SIGNING_SINCE_KEY),
            java.nio.charset.StandardCharsets.UTF_8).strip()));
      } catch (ObjectNotFoundException | IntegrityException | java.time.format.DateTimeParseException e) {
        throw new IntegrityException("cannot tell which backups of " + describe() + " predate its signing ("
            + SIGNING_SINCE_KEY + ": " + e.getMessage() + "): nothing adopted");
      }
    }
    Repository unchecked = new Repository(store, null, Secrets.none(), id);
    List<Adoption> result = new ArrayList<>();
    for (String backup : backupIds(plan)) {
      if (chosen != null && !chosen.contains(backup)) {
        continue;
      }
      try {
        manifest(plan, backup);
        result.add(new Adoption(backup, "already signed", ""));
        continue;
      } catch (BackupNotFoundException gone) {
        continue;
      } catch (IntegrityException unsigned) {
        // below
      }
      Manifest m;
      try {
        m = unchecked.manifest(plan, backup);
      } catch (IntegrityException | UnsupportedFormatException e) {
        result.add(new Adoption(backup, "left unsigned", String.valueOf(e.getMessage())));
        continue;
      }
      // The manifest's own time says what its writer wants; the store's time for the object is the store's (on a
      // filesystem, whoever can write it can also set it: adopt from a host and a moment you trust).
      Instant written = store.stat(manifestKey(plan, backup)).map(ObjectInfo::lastModified).orElse(m.startedAt());
      Instant latest = written.isAfter(m.startedAt()) ? written : m.startedAt();
      if (signingSince.isPresent() && latest.isAfter(signingSince.get())) {
        result.add(new Adoption(backup, "left unsigned", "written at " + latest + ", after this repository began "
            + "signing (" + signingSince.get() + "): not by a holder of the key"));
        continue;
      }
      List<VerificationResult> checks;
      try {
        checks = unchecked.verify(m, verifiers);
      } catch (CryptoException e) {
        result.add(new Adoption(backup, "left unsigned", "cannot be decrypted with the key supplied: " + e.getMessage()));
        continue;
      }
      Optional<VerificationResult> failed = checks.stream().filter(r -> !r.passed()).findFirst();
      if (failed.isPresent()) {
        result.add(new Adoption(backup, "left unsigned", failed.get().check() + ": " + failed.get().detail()));
      } else if (dryRun) {
        result.add(new Adoption(backup, "would sign", checks.size() + " checks passed"));
      } else {
        writeManifest(m);
        result.add(new Adoption(backup, "signed", checks.size() + " checks passed"));
      }
    }
    return result;
  }

  /**
   * Replaces the manifest of an existing backup with {@code updated} (same plan and id), re-signing it. For
   * key rotation, which changes only wrapped keys: artifacts are untouched.
   */
  public void replaceManifest(Manifest updated) throws IOException {
    manifest(updated.plan(), updated.id()); // must exist and pass the current checks
    writeManifest(updated);
  }

  /** Opens the stored bytes of an artifact; the stream fails at its end unless size and digest match. */
  public InputStream openStored(ArtifactRecord artifact) throws IOException {
    return new VerifyingInputStream(store.get(artifact.key()), "artifact '" + artifact.name()
        + "' (" + artifact.key() + ") stored bytes", artifact.storedBytes(), artifact.storedSha256());
  }

  /**
   * Opens the raw bytes of an artifact: reads the stored object, reverses the recorded transform chain and
   * verifies stored and raw size and digest. Bytes are released chunk by chunk, each only after its digest
   * matched the manifest's {@link ArtifactRecord#rawChunks}, so the caller never acts on unverified bytes.
   * Decoding errors are reported as {@link IntegrityException}s. An artifact weaker than {@code secrets} demand
   * (plain bytes where a passphrase is supplied) is refused before anything is read; the object index's segments,
   * compressed only by design (they hold names and digests, no data), are exempt.
   */
  public InputStream openRaw(ArtifactRecord artifact, Secrets secrets) throws IOException {
    if (!artifact.name().startsWith(ObjectIndex.SEGMENT_PREFIX)) {
      Transforms.checkProtection(artifact, secrets);
    }
    List<Transform> chain = Transforms.restore(artifact.transforms(), secrets);
    org.slf4j.LoggerFactory.getLogger(Repository.class).debug("reading artifact '{}' from {}: {} stored bytes through "
        + "{}, verified in {} chunks", artifact.name(), artifact.key(), artifact.storedBytes(),
        artifact.transforms().stream().map(TransformSpec::name).toList(),
        artifact.rawChunks() == null ? "no" : artifact.rawChunks().sha256().size());
    InputStream in = openStored(artifact);
    try {
      for (int i = chain.size() - 1; i >= 0; i--) {
        in = chain.get(i).unwrap(in);
      }
    } catch (IOException | RuntimeException e) {
      in.close();
      throw decodeFailure(artifact, e);
    }
    // Where chunk digests cover every raw byte, a second SHA-256 pass over the whole would prove nothing more.
    InputStream verified = new DecodingFailureTranslator(new VerifyingInputStream(in, "artifact '" + artifact.name()
        + "' raw bytes", artifact.rawBytes(), artifact.rawChunks() == null ? artifact.rawSha256() : null), artifact);
    if (artifact.rawChunks() == null) {
      org.slf4j.LoggerFactory.getLogger(Repository.class).warn("artifact '{}' ({}) predates chunk digests: its bytes "
          + "are verified only when the stream ends, after the restore has used them", artifact.name(), artifact.key());
      return verified;
    }
    return new ChunkVerifyingInputStream(verified, "artifact '" + artifact.name() + "' (" + artifact.key()
        + ") raw bytes", artifact.rawChunks(), artifact.rawBytes());
  }

  private static IOException decodeFailure(ArtifactRecord artifact, Exception e) {
    if (e instanceof SavepointException se) {
      return se;
    }
    return new IntegrityException("artifact '" + artifact.name() + "' (" + artifact.key()
        + ") cannot be decoded, the stored object is corrupt or truncated: " + e.getMessage(), e);
  }

  /** Turns low-level decoder errors (ZipException, zstd errors) into integrity errors naming the artifact. */
  private static final class DecodingFailureTranslator extends java.io.FilterInputStream {
    private final ArtifactRecord artifact;

    DecodingFailureTranslator(InputStream in, ArtifactRecord artifact) {
      super(in);
      this.artifact = artifact;
    }

    @Override
    public int read() throws IOException {
      try {
        return in.read();
      } catch (IOException | RuntimeException e) {
        throw decodeFailure(artifact, e);
      }
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      try {
        return in.read(b, off, len);
      } catch (IOException | RuntimeException e) {
        throw decodeFailure(artifact, e);
      }
    }
  }

  /**
   * A reader over one backup's artifacts, for restore targets and verifiers. The manifest is first read again from
   * its place under the signer that {@code secrets} and this repository put in force, and must be the same: a
   * manifest obtained through an unsigned view, or built by hand, is not trusted on its word.
   */
  public ArtifactReader reader(Manifest manifest, Secrets secrets) throws IOException {
    authenticate(manifest, secrets);
    return readerOf(manifest, secrets);
  }

  /**
   * A reader over {@code manifest} as given, for the backup writing it (its manifest is not stored yet) and for
   * the object index of a manifest already read through this repository's checks.
   */
  ArtifactReader readerOf(Manifest manifest, Secrets secrets) {
    return new ArtifactReader() {
      @Override
      public Manifest manifest() {
        return manifest;
      }

      @Override
      public InputStream open(ArtifactRecord artifact) throws IOException {
        return openRaw(artifact, secrets);
      }

      @Override
      public List<Transform> protection() throws IOException {
        return manifest.artifacts().isEmpty() ? List.of()
            : Transforms.restore(manifest.artifacts().get(0).transforms(), secrets);
      }
    };
  }

  /**
   * IntegrityException unless {@code manifest} is, byte for byte, what its place in this repository holds under the
   * signer in force for {@code secrets} (see {@link #withSecrets}). Without any signer, only its place is checked.
   */
  public void authenticate(Manifest manifest, Secrets secrets) throws IOException {
    Repository view = secrets == this.secrets ? this : new Repository(store, signer, secrets.orElse(this.secrets), id);
    Manifest stored = view.manifest(manifest.plan(), manifest.id());
    if (!java.util.Arrays.equals(ManifestCodec.write(stored), ManifestCodec.write(manifest))) {
      throw new IntegrityException("backup " + manifest.id() + " of plan '" + manifest.plan() + "' differs from the "
          + "manifest stored in " + describe() + ": refused");
    }
  }

  /** Restores {@code manifest} into {@code target} with this repository's {@link #secrets()}. */
  public RestoreResult restore(Manifest manifest, RestoreTarget target) throws IOException {
    return restore(manifest, target, secrets);
  }

  /** Restores {@code manifest} into {@code target}, verifying every digest on the way. */
  public RestoreResult restore(Manifest manifest, RestoreTarget target, Secrets secrets) throws IOException {
    Instant start = Instant.now();
    org.slf4j.LoggerFactory.getLogger(Repository.class).debug("restoring backup {} of plan '{}' ({} artifacts, {} raw "
        + "bytes) from {} into {}", manifest.id(), manifest.plan(), manifest.artifacts().size(), manifest.rawBytes(),
        describe(), target.describe());
    Map<String, Object> facts;
    try (Lease lease = leaseIfWritable(manifest, "restore to " + target.describe())) {
      facts = target.restore(reader(manifest, secrets));
    }
    return new RestoreResult(manifest.id(), target.describe(), manifest.rawBytes(),
        Duration.between(start, Instant.now()), facts);
  }

  /**
   * The outcome of a restore; {@code facts} are what the target reported (rows checked, safety backup), also
   * through the typed accessors.
   */
  public record RestoreResult(String backupId, String target, long rawBytes, Duration duration,
      Map<String, Object> facts) {
    /** The backup taken of the target before it was replaced (a database restore over a non-empty one). */
    public Optional<String> safetyBackupId() {
      return Optional.ofNullable(facts.get("safetyBackupId")).map(String::valueOf);
    }

    /** Tables whose row counts were compared with the manifest (database restores). */
    public java.util.OptionalLong tablesChecked() {
      return number("tablesChecked");
    }

    /** Rows counted in those tables. */
    public java.util.OptionalLong rowsChecked() {
      return number("rowsChecked");
    }

    private java.util.OptionalLong number(String fact) {
      return facts.get(fact) instanceof Number n ? java.util.OptionalLong.of(n.longValue()) : java.util.OptionalLong.empty();
    }
  }

  /**
   * Adds a small document (a drill report, a verification record) to an existing backup, under
   * {@code <plan>/<id>/<name>}, signed like a {@link #writeDocument document}. Attachments are not artifacts:
   * the manifest does not list them, and they are deleted with the backup.
   */
  public void writeAttachment(Manifest manifest, String name, byte[] content) throws IOException {
    if (name.equals(MANIFEST) || name.equals(COMPLETE) || name.endsWith(".sig")
        || manifest.artifacts().stream().anyMatch(a -> a.key().endsWith("/" + name))) {
      throw new IllegalArgumentException("attachment name '" + name + "' collides with the backup's own objects");
    }
    writeDocument(manifest.plan() + "/" + manifest.id() + "/" + name, content);
  }

  /**
   * Attachments of a backup whose names start with {@code prefix}, with their contents, sorted by name. In a
   * signed repository an attachment whose signature does not hold is left out (with a warning): a report that
   * anyone with write access could have placed counts for nothing.
   */
  public Map<String, byte[]> attachments(Manifest manifest, String prefix) throws IOException {
    String base = manifest.plan() + "/" + manifest.id() + "/";
    Map<String, byte[]> result = new java.util.TreeMap<>();
    for (ObjectInfo o : store.list(base + prefix)) {
      if (o.key().endsWith(".sig")) {
        continue;
      }
      try {
        result.put(o.key().substring(base.length()), readDocument(o.key()));
      } catch (IntegrityException e) {
        org.slf4j.LoggerFactory.getLogger(Repository.class).warn("ignoring {}: {}", o.key(), e.getMessage());
      } catch (ObjectNotFoundException deletedMeanwhile) {
        // a released lease
      }
    }
    return result;
  }

  /**
   * Keeps the outcome of a full verification with the backup ({@code verifications/<time>.json}, signed like a
   * drill report): a passed one makes the backup a {@linkplain #lastKnownGood last known good} candidate.
   */
  public void recordVerification(Manifest manifest, List<VerificationResult> results) throws IOException {
    Instant at = Instant.now();
    Map<String, Object> record = new java.util.LinkedHashMap<>();
    record.put("at", at.toString());
    record.put("passed", results.stream().allMatch(VerificationResult::passed));
    record.put("checks", results);
    writeAttachment(manifest, VERIFICATIONS + at.toString().replace(':', '-') + ".json",
        ManifestCodec.JSON.writeValueAsBytes(record));
  }

  /**
   * The newest of {@code backups} with a passed restore drill or full verification recorded with it (authentic
   * reports only), and what proved it: the backup retention never deletes, whatever its rules say.
   */
  public Optional<Map.Entry<Manifest, String>> lastKnownGood(List<Manifest> backups) throws IOException {
    List<Manifest> newestFirst = new ArrayList<>(backups);
    newestFirst.sort(BACKUP_ORDER.reversed());
    for (Manifest m : newestFirst) {
      for (String kind : List.of(DRILLS, VERIFICATIONS)) {
        for (byte[] report : attachments(m, kind).values()) {
          if (ManifestCodec.JSON.readTree(report).path("passed").asBoolean(false)) {
            return Optional.of(Map.entry(m, "last known good: passed a "
                + (kind.equals(DRILLS) ? "restore drill" : "full verification")));
          }
        }
      }
    }
    return Optional.empty();
  }

  /** Attachment folders of the evidence that a backup restores: drill reports and full verifications. */
  public static final String DRILLS = "drills/";

  public static final String VERIFICATIONS = "verifications/";

  /** Runs {@code verifiers} against {@code manifest}, in order. */
  public List<VerificationResult> verify(Manifest manifest, List<Verifier> verifiers) throws IOException {
    List<VerificationResult> results = new ArrayList<>();
    for (Verifier v : verifiers) {
      results.add(v.verify(this, manifest));
    }
    return results;
  }

  /**
   * Copies a complete backup into {@code target} (e.g. from the 30-day primary to the 7-year archive):
   * inside the storage service where both repositories are in the same one ({@link Store#copyInService}), else
   * streamed across with size and SHA-256 checked on the way. An in-service copy is read back and its SHA-256
   * checked against the manifest (the service copied whatever the source held, which someone may have changed
   * since the backup); a copy that differs is deleted and refused. A copy already in an archive class that
   * cannot be read (S3 Glacier Flexible Retrieval, Deep Archive) is checked by size. The manifest is
   * written last, so an interrupted copy leaves no backup in the target. Copying a backup the target already
   * has is a no-op. The source backup is leased while it is read.
   */
  public Manifest copyTo(Manifest manifest, Repository target) throws IOException {
    String manifestKey = manifestKey(manifest.plan(), manifest.id());
    if (target.store.stat(manifestKey).isPresent()) {
      return target.manifest(manifest.plan(), manifest.id());
    }
    try (Lease lease = leaseIfWritable(manifest, "copy to " + target.describe())) {
      ObjectIndex.forEachArtifact(this, manifest, a -> copyArtifact(manifest, a, target));
      target.writeManifest(manifest);
    }
    return manifest;
  }

  private void copyArtifact(Manifest manifest, ArtifactRecord a, Repository target) throws IOException {
    if (!ownsKey(manifest, a) && target.store.stat(a.key()).map(o -> o.size() == a.storedBytes()).orElse(false)) {
      return; // Reused from an earlier backup, which an earlier copy already brought across.
    }
    if (target.store.copyInService(store, a.key())) {
      target.checkCopy(a);
      return;
    }
    try (InputStream in = openStored(a)) {
      target.store.put(a.key(), in);
    }
  }

  /** Checks an in-service copy of {@code a} in this repository against the manifest; deletes and refuses a bad one. */
  private void checkCopy(ArtifactRecord a) throws IOException {
    long copied = store.stat(a.key()).map(ObjectInfo::size).orElse(-1L);
    String problem = copied == a.storedBytes() ? null : copied + " bytes, the manifest records " + a.storedBytes();
    if (problem == null) {
      try (InputStream in = store.get(a.key())) {
        String digest = Probe.sha256Of(in);
        problem = digest.equals(a.storedSha256()) ? null : "SHA-256 " + digest + ", the manifest records "
            + a.storedSha256() + " (the source object changed after the backup)";
      } catch (ObjectArchivedException archived) {
        org.slf4j.LoggerFactory.getLogger(Repository.class).info("copy of {} in {} is archived: checked by size",
            a.key(), describe());
      }
    }
    if (problem != null) {
      try {
        store.delete(a.key());
      } catch (IOException e) {
        org.slf4j.LoggerFactory.getLogger(Repository.class).warn("cannot delete the bad copy {}: {}", a.key(),
            e.getMessage());
      }
      throw new IntegrityException("in-service copy of " + a.key() + " in " + describe() + " has " + problem
          + "; the copy was deleted and the backup not copied");
    }
  }

  /**
   * Removes a backup: the manifest first, so the backup stops existing at once even if removing its
   * artifacts is interrupted (what is left is then an orphan that {@link #deleteOrphans} removes — in a directory
   * later backups still read from, once they are gone too). Stored objects that other backups of the plan also
   * record (incremental backups reuse them) are kept.
   */
  public void delete(Manifest manifest) throws IOException {
    unpublish(manifest.plan(), manifest.id());
    reclaim(manifest.plan(), List.of(manifest), list(manifest.plan()));
  }

  /**
   * Deletes what {@code doomed}, whose manifests are gone, leave that none of {@code remaining} records: decided
   * from the manifests and merged indexes ({@link Reclaim}), or, where a manifest does not say which directories it
   * reads from (written before manifests did), by collecting the keys the remaining backups share.
   */
  private void reclaim(String plan, List<Manifest> doomed, List<Manifest> remaining) throws IOException {
    if (Reclaim.possible(doomed) && Reclaim.possible(remaining)) {
      PagedListing.iterate(() -> new Reclaim(this, plan).afterDeleting(doomed, remaining));
    } else {
      deleteUnshared(doomed, sharedKeys(remaining, key -> true));
    }
  }

  /** Deletes the objects of backups whose manifests are gone, except those in {@code shared}. */
  private void deleteUnshared(List<Manifest> manifests, Set<String> shared) throws IOException {
    List<String> doomed = new ArrayList<>();
    // Objects they reused from deleted earlier backups, unless a remaining backup records them too: all read before
    // anything goes, since their index segments may be among the objects of another of them. An object in the
    // directory of a backup that is still there (its manifest is) belongs to that backup and stays, whoever else
    // reused it: deleting a daily that reused the kept monthly's objects must leave the monthly whole.
    Map<String, Boolean> ownerRemains = new java.util.HashMap<>();
    for (Manifest manifest : manifests) {
      ObjectIndex.forEachArtifact(this, manifest, a -> {
        // Only the plan's own objects: a manifest naming another plan's keys cannot make prune delete them.
        if (ownsKey(manifest, a) || shared.contains(a.key()) || !a.key().startsWith(manifest.plan() + "/")) {
          return;
        }
        String owner = backupIdOf(manifest.plan(), a.key());
        Boolean remains = ownerRemains.get(owner);
        if (remains == null) {
          remains = owner == null || store.stat(manifestKey(manifest.plan(), owner)).isPresent();
          ownerRemains.put(owner, remains);
        }
        if (!remains) {
          doomed.add(a.key());
        }
      });
    }
    for (Manifest manifest : manifests) {
      deleteObjects(manifest.plan() + "/" + manifest.id() + "/", shared);
    }
    store.deleteAll(doomed);
  }

  /**
   * Ids of backups of {@code plan} that have objects but no manifest, started more than {@code minAge} ago and
   * hold no lease (a running backup renews one, see {@link #running}). Objects that complete backups still record (reused by an
   * incremental backup, see {@link ArtifactWriter#reuse}) are not remains: a backup left with only those is
   * no orphan.
   */
  public List<String> orphans(String plan, Duration minAge) throws IOException {
    return List.copyOf(orphans(plan, minAge, false, List.of()));
  }

  /** Deletes the objects of {@link #orphans}; returns how many backups' remains were removed. */
  public int deleteOrphans(String plan, Duration minAge) throws IOException {
    return orphans(plan, minAge, true, List.of()).size();
  }

  /**
   * The orphans of {@code plan}, in id order, and, if {@code delete}, their remains (the objects no complete backup
   * records) deleted. Where every manifest says which directories it reads from, that decides: a directory none
   * references goes whole, as its listing streams, and one they reference holds no remains (deleting its backup
   * left only what they read; for a provided-copy directory, copies not adopted stay until the backups that adopted
   * the others are gone). Else the remains are the objects not in the set of keys complete backups record there.
   * {@code known}: manifests the caller has just read (prune's kept backups), not read again.
   */
  private Set<String> orphans(String plan, Duration minAge, boolean delete, List<Manifest> known) throws IOException {
    Instant cutoff = Instant.now().minus(minAge);
    Map<String, Manifest> knownById = new java.util.HashMap<>();
    known.forEach(m -> knownById.put(m.id(), m));
    List<Manifest> manifests = new ArrayList<>();
    Set<String> candidates = new java.util.TreeSet<>();
    for (String id : backupIds(plan)) {
      Optional<Manifest> m = knownById.containsKey(id) ? Optional.of(knownById.get(id)) : readable(plan, id);
      if (m.isPresent()) {
        manifests.add(m.get());
      } else if (BackupIds.startTime(id).isBefore(cutoff) && store.stat(manifestKey(plan, id)).isEmpty()
          && store.stat(completeKey(plan, id)).isEmpty()
          && !leases().hasActiveLease(store.list(plan + "/" + id + "/leases/"))) {
        candidates.add(id); // no manifest at all, and never completed: a damaged one, or a lost manifest, is no orphan
      }
    }
    Set<String> orphans = new java.util.TreeSet<>();
    if (candidates.isEmpty()) {
      return orphans;
    }
    if (Reclaim.possible(manifests)) {
      Set<String> referenced = Reclaim.referenced(manifests);
      Reclaim reclaim = new Reclaim(this, plan);
      for (String id : candidates) {
        if (!referenced.contains(id)) {
          orphans.add(id);
          if (delete) {
            PagedListing.iterate(() -> reclaim.deleteDirectory(id));
          }
        }
      }
      return orphans;
    }
    // Only references into those directories matter: the set stays as small as they are.
    Set<String> shared = sharedKeys(manifests, key -> candidates.contains(backupIdOf(plan, key)));
    for (String id : candidates) {
      List<String> own = store.list(plan + "/" + id + "/").stream().map(ObjectInfo::key)
          .filter(k -> !shared.contains(k)).toList();
      if (!own.isEmpty()) {
        orphans.add(id);
        if (delete) {
          store.deleteAll(own);
        }
      }
    }
    return orphans;
  }

  /**
   * Stored keys that {@code backups} record outside their own directory (reused ones, index segments included), of
   * those {@code relevant} to the caller (say, under the directories it may delete): the set stays that small.
   */
  private Set<String> sharedKeys(List<Manifest> backups, java.util.function.Predicate<String> relevant)
      throws IOException {
    Set<String> shared = new java.util.HashSet<>();
    for (Manifest m : backups) {
      ObjectIndex.forEachArtifact(this, m, a -> {
        if (!ownsKey(m, a) && relevant.test(a.key())) {
          shared.add(a.key());
        }
      });
    }
    return shared;
  }

  private static boolean ownsKey(Manifest m, ArtifactRecord a) {
    return a.key().startsWith(m.plan() + "/" + m.id() + "/");
  }

  /**
   * Applies {@code retention} to {@code plan}: deletes the backups it does not keep (unless {@code dryRun})
   * and the remains of backups that never got a manifest and are older than {@code orphanMinAge}. Backups
   * with an unexpired {@linkplain #lease lease} are kept, and so is the plan's {@linkplain #lastKnownGood last
   * known good} backup. Returns every verdict, newest first.
   */
  public List<Retention.Verdict> prune(String plan, Retention retention, boolean dryRun, Duration orphanMinAge)
      throws IOException {
    List<Manifest> backups = list(plan);
    Map<String, String> pinned = new java.util.LinkedHashMap<>();
    lastKnownGood(backups).ifPresent(good -> pinned.put(good.getKey().id(), good.getValue()));
    for (Manifest m : backups) {
      if (hasActiveLease(m)) {
        pinned.merge(m.id(), "in use by a restore, drill or copy", (a, b) -> a + ", " + b);
      }
    }
    List<Retention.Verdict> verdicts = retention.apply(backups, Instant.now(), pinned);
    if (!dryRun) {
      List<Manifest> doomed = verdicts.stream().filter(v -> !v.keep()).map(Retention.Verdict::backup).toList();
      for (Manifest m : doomed) {
        unpublish(plan, m.id());
      }
      List<Manifest> kept = verdicts.stream().filter(Retention.Verdict::keep).map(Retention.Verdict::backup).toList();
      if (!doomed.isEmpty()) {
        reclaim(plan, doomed, kept);
      }
      orphans(plan, orphanMinAge, true, kept);
    }
    return verdicts;
  }

  /**
   * Marks a backup as being read (by a restore, drill or copy) until the returned lease is closed or
   * {@code maxDuration} (at most {@link #MAX_LEASE}) has passed, so that {@link #prune} in this or another
   * process does not delete it.
   */
  public Lease lease(Manifest manifest, String purpose, Duration maxDuration) throws IOException {
    String name = "leases/" + java.util.UUID.randomUUID() + ".lease";
    String body = Instant.now().plus(maxDuration) + "\n" + purpose + "\n" + dev.savepoint.core.internal.Holder.line();
    writeAttachment(manifest, name, body.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    String key = manifest.plan() + "/" + manifest.id() + "/" + name;
    return () -> deleteDocument(key);
  }

  /**
   * A lease if the repository is writable; restores from read-only credentials go on without one. Releasing it
   * never fails the work it covered (a lease left behind lapses on its own), it logs instead.
   */
  public Lease leaseIfWritable(Manifest manifest, String purpose) {
    org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(Repository.class);
    Lease lease;
    try {
      lease = lease(manifest, purpose, Duration.ofDays(2));
    } catch (IOException | RuntimeException e) {
      log.warn("cannot mark backup {} as in use (read-only repository?); a concurrent prune could delete it: {}",
          manifest.id(), e.getMessage());
      return () -> { };
    }
    return () -> {
      try {
        lease.close();
      } catch (IOException | RuntimeException e) {
        log.warn("cannot release the lease on backup {} ({}); it lapses on its own within 2 days", manifest.id(),
            e.getMessage());
      }
    };
  }

  /** A held {@link #lease}; closing it releases the backup. */
  @FunctionalInterface
  public interface Lease extends AutoCloseable {
    @Override
    void close() throws IOException;
  }

  /** Whether a lease holds {@code m}. */
  private boolean hasActiveLease(Manifest m) throws IOException {
    return leases().hasActiveLease(store.list(m.plan() + "/" + m.id() + "/leases/"));
  }

  /** Who holds what in this repository: leases on backups, running backups, exclusive locks. */
  private Leases leases() {
    return new Leases(store, describe());
  }

  /** Marks backup {@code id} of {@code plan} as running until the returned lease is closed: see {@link Leases}. */
  Lease running(String plan, String id) throws IOException {
    return leases().running(plan, id);
  }

  /**
   * Holds {@code key} (e.g. {@code _savepoint/locks/recovery-trpg.lock}) for one operation at a time, across
   * processes and hosts, until the returned lease is closed: a second caller gets an {@link IllegalStateException}
   * naming who holds it and since when ({@code purpose} says what the holder does, e.g. "recovery 'trpg'"). The lock
   * is claimed by writing a unique token, waiting {@code settle} and reading it back; a heartbeat renews it; a holder
   * killed on this machine, or one silent for three heartbeats, no longer holds it.
   */
  public Lease exclusive(String key, String purpose, Duration settle) throws IOException {
    return leases().exclusive(key, purpose, settle);
  }

  /** How often a running backup renews its lease. */
  static final Duration RUNNING_HEARTBEAT = Duration.ofMinutes(5);

  /** The longest a lease holds a backup, counted from when the store received it. */
  public static final Duration MAX_LEASE = Duration.ofDays(7);

  private void deleteObjects(String prefix, Set<String> keep) throws IOException {
    store.deleteAll(store.list(prefix).stream().map(ObjectInfo::key).filter(k -> !keep.contains(k)).toList());
  }
}
