package dev.savepoint.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.savepoint.core.security.Approvers;
import dev.savepoint.core.security.AuditLog;
import dev.savepoint.core.security.ManifestSigner;
import dev.savepoint.core.security.Redaction;
import dev.savepoint.core.security.RestoreApprovals;
import dev.savepoint.core.sources.EnvironmentFileTarget;
import dev.savepoint.core.sources.EnvironmentSource;
import dev.savepoint.core.store.ByteSource;
import dev.savepoint.core.store.InMemoryStore;
import dev.savepoint.core.store.ObjectInfo;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ControlTest {
  final InMemoryStore store = new InMemoryStore();
  final AuditLog audit = new AuditLog(store);

  @Test
  void auditChainDetectsEditsAndRemovals() throws IOException {
    audit.append("alice", "backup", "trpg/1", "ok", Map.of("bytes", 10));
    audit.append("bob", "restore", "trpg/1 -> prod", "ok", Map.of());
    audit.append("carol", "prune", "trpg", "ok", Map.of("deleted", 3));
    assertThat(audit.verify()).extracting(AuditLog.Entry::principal).containsExactly("alice", "bob", "carol");

    String key = "_savepoint/audit/000000000002.json";
    String original;
    try (InputStream in = store.get(key)) {
      original = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    store.put(key, ByteSource.wrap(original.replace("bob", "mallory").getBytes(StandardCharsets.UTF_8)));
    assertThatThrownBy(audit::verify).isInstanceOf(IntegrityException.class).hasMessageContaining("entry 2 was modified");

    store.put(key, ByteSource.wrap(original.getBytes(StandardCharsets.UTF_8)));
    assertThat(audit.verify()).hasSize(3);
    store.delete(key);
    assertThatThrownBy(audit::verify).isInstanceOf(IntegrityException.class).hasMessageContaining("expected entry 2");
  }

  /**
   * Issue 38.6: one planted object at the head of the log silenced every later append. Appends go on, the break is
   * reported where it is, and concurrent appenders (separate logs on one store, as separate processes) never
   * overwrite each other's entries.
   */
  @Test
  void aPlantedHeadNeverBlocksAppendsAndConcurrentAppendersKeepEveryEntry() throws Exception {
    audit.append("alice", "backup", "trpg/1", "ok", Map.of());
    store.put(AuditLog.PREFIX + "000000000002.json", ByteSource.wrap("not json".getBytes()));
    store.put(AuditLog.PREFIX + "zzz-planted", ByteSource.wrap("{}".getBytes()));
    AuditLog.Entry next = audit.append("bob", "restore", "trpg/1 -> prod", "ok", Map.of());
    assertThat(next.sequence()).isEqualTo(3);
    assertThat(next.previousHash()).isEqualTo("unreadable " + AuditLog.PREFIX + "000000000002.json");
    assertThatThrownBy(audit::verify).isInstanceOf(IntegrityException.class).hasMessageContaining("000000000002");

    InMemoryStore shared = new InMemoryStore();
    java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(4);
    try {
      List<java.util.concurrent.Future<AuditLog.Entry>> appends = new java.util.ArrayList<>();
      for (int i = 0; i < 40; i++) {
        String who = "writer-" + i;
        appends.add(pool.submit(() -> new AuditLog(shared).append(who, "backup", "p", "ok", Map.of())));
      }
      for (var f : appends) {
        f.get();
      }
    } finally {
      pool.shutdownNow();
    }
    assertThat(new AuditLog(shared).verify()).hasSize(40);
  }

  @Test
  void aSignedAuditLogCannotBeRewrittenWithoutTheKey() throws Exception {
    ManifestSigner key = ManifestSigner.hmacSha256("audit-key-".repeat(4).getBytes(StandardCharsets.UTF_8));
    AuditLog signed = new AuditLog(store, key);
    signed.append("alice", "backup", "trpg/1", "ok", Map.of());
    signed.append("bob", "restore", "trpg/1 -> prod", "ok", Map.of());
    assertThat(signed.verify()).hasSize(2).allSatisfy(e -> assertThat(e.signature()).startsWith("hmac-sha256:"));
    // A writer without the key replaces the whole chain, every hash recomputed: the hash chain alone accepts it.
    for (ObjectInfo o : store.list(AuditLog.PREFIX)) {
      store.delete(o.key());
    }
    AuditLog forger = new AuditLog(store);
    forger.append("alice", "backup", "trpg/1", "ok", Map.of());
    forger.append("alice", "restore", "trpg/1 -> prod", "ok", Map.of());
    assertThat(forger.verify()).hasSize(2);
    assertThatThrownBy(signed::verify).isInstanceOf(IntegrityException.class).hasMessageContaining("not signed");
  }

  @Test
  void aHeadKeptElsewhereShowsRemovedNewestEntries() throws Exception {
    AuditLog log = new AuditLog(store);
    log.append("alice", "backup", "trpg/1", "ok", Map.of());
    AuditLog.Entry head = log.append("mallory", "restore", "trpg/1 -> prod", "ok", Map.of());
    assertThat(log.verify(head.sequence(), head.hash())).hasSize(2);
    store.delete(AuditLog.PREFIX + String.format("%012d.json", head.sequence()));
    assertThat(log.verify()).as("a shorter chain is valid on its own").hasSize(1);
    assertThatThrownBy(() -> log.verify(head.sequence(), head.hash())).isInstanceOf(IntegrityException.class)
        .hasMessageContaining("newer entries were removed");
  }

  /** An SSH key made with the real ssh-keygen (the test kit's SshKeys does this too; core cannot depend on it). */
  static Path sshKey(Path dir, String name) throws Exception {
    Path key = dir.resolve(name);
    Process p = new ProcessBuilder("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", key.toString())
        .redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertThat(p.waitFor()).as(out).isZero();
    return key;
  }

  static String sign(Path key, String namespace, byte[] document) throws Exception {
    Process p = new ProcessBuilder("ssh-keygen", "-q", "-Y", "sign", "-n", namespace, "-f", key.toString())
        .redirectError(ProcessBuilder.Redirect.DISCARD).start();
    try (var in = p.getOutputStream()) {
      in.write(document);
    }
    String sig = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor()).isZero();
    return sig;
  }

  @org.junit.jupiter.api.io.TempDir
  Path tmp;

  /** An allowed_signers line: the principal (and any options), then the key's public half. */
  static String signer(String principalAndOptions, Path key) throws Exception {
    return principalAndOptions + " " + java.nio.file.Files.readString(Path.of(key + ".pub")).strip();
  }

  /**
   * Issue 38.1 and 38.2: the requester is the key that signed the request, not a typed name — a request opened as
   * "oncall-bot" and signed by alice is refused, and alice's requester signature never counts as an approval — and the
   * allowed-signers file means what it means to OpenSSH: an expired key and a key limited to another namespace approve
   * nothing.
   */
  @Test
  void requestersAreKeysAndAllowedSignersOptionsHold() throws Exception {
    Path alice = sshKey(tmp, "alice");
    Path bob = sshKey(tmp, "bob");
    Path expired = sshKey(tmp, "erin");
    Path gitOnly = sshKey(tmp, "gus");
    java.nio.file.Files.writeString(tmp.resolve("allowed_signers"), String.join("\n", signer("alice", alice),
        signer("bob", bob), signer("erin valid-before=\"20200101\"", expired), signer("gus namespaces=\"git\"", gitOnly)));
    Approvers approvers = Approvers.fromAllowedSigners(tmp.resolve("allowed_signers"));
    RestoreApprovals approvals = new RestoreApprovals(store, audit, Duration.ofHours(4));

    RestoreApprovals.Request spoofed = approvals.request("oncall-bot", "trpg", "id1", "d", "postgresql://db/prod", "x");
    approvals.signAsRequester(spoofed.id(), sign(alice, Approvers.NAMESPACE, RestoreApprovals.requestDocument(spoofed)));
    approvals.addSignature(spoofed.id(), sign(alice, Approvers.NAMESPACE, RestoreApprovals.document(spoofed)), "alice");
    assertThatThrownBy(() -> approvals.requireApproved(spoofed.id(), "trpg", "id1", "d", "postgresql://db/prod",
        approvers, 1)).isInstanceOf(ApprovalException.class).hasMessageContaining("signed by the key of alice");

    RestoreApprovals.Request r = approvals.request("alice", "trpg", "id1", "d", "postgresql://db/prod", "x");
    byte[] requested = RestoreApprovals.requestDocument(r);
    approvals.signAsRequester(r.id(), sign(alice, Approvers.NAMESPACE, requested));
    // The requester's own signature over the request, copied in as an approval, is over other bytes: it counts for nothing.
    approvals.addSignature(r.id(), sign(alice, Approvers.NAMESPACE, requested), "alice");
    byte[] doc = RestoreApprovals.document(r);
    approvals.addSignature(r.id(), sign(expired, Approvers.NAMESPACE, doc), "erin");
    approvals.addSignature(r.id(), sign(gitOnly, Approvers.NAMESPACE, doc), "gus");
    assertThatThrownBy(() -> approvals.requireApproved(r.id(), "trpg", "id1", "d", "postgresql://db/prod", approvers, 1))
        .isInstanceOf(ApprovalException.class).hasMessageContaining("0 approver(s)");
    approvals.addSignature(r.id(), sign(bob, Approvers.NAMESPACE, doc), "bob");
    RestoreApprovals.Approved ok = approvals.verify(r.id(), "trpg", "id1", "d", "postgresql://db/prod", approvers, 1);
    assertThat(ok.approvedBy()).containsExactly("bob");
    List<AuditLog.Entry> entries = audit.verify();
    assertThat(entries.get(entries.size() - 1).details().toString()).contains("SHA256:");
  }

  @Test
  void approvalsAreSignaturesOfDistinctListedPeopleOtherThanTheRequester() throws Exception {
    Path alice = sshKey(tmp, "alice");
    Path bob = sshKey(tmp, "bob");
    Path carol = sshKey(tmp, "carol");
    Path mallory = sshKey(tmp, "mallory");
    Path bobSecond = sshKey(tmp, "bob2");
    java.nio.file.Files.writeString(tmp.resolve("allowed_signers"), String.join("\n", signer("alice", alice),
        signer("bob", bob), signer("bob", bobSecond), signer("carol namespaces=\"savepoint-restore\"", carol)));
    Approvers approvers = Approvers.fromAllowedSigners(tmp.resolve("allowed_signers"));
    assertThat(approvers.principals()).containsExactly("alice", "bob", "carol");

    RestoreApprovals approvals = new RestoreApprovals(store, audit, Duration.ofHours(4));
    RestoreApprovals.Request r = approvals.request("alice", "trpg", "id1", "digest1", "postgresql://db/prod", "incident 42");
    byte[] doc = RestoreApprovals.document(r);
    org.assertj.core.api.ThrowableAssert.ThrowingCallable check =
        () -> approvals.requireApproved(r.id(), "trpg", "id1", "digest1", "postgresql://db/prod", approvers, 2);
    assertThatThrownBy(check).isInstanceOf(ApprovalException.class).hasMessageContaining("not signed by its requester");
    approvals.signAsRequester(r.id(), sign(alice, Approvers.NAMESPACE, RestoreApprovals.requestDocument(r)));
    assertThatThrownBy(() -> approvals.signAsRequester(r.id(), sign(mallory, Approvers.NAMESPACE,
        RestoreApprovals.requestDocument(r)))).isInstanceOf(ApprovalException.class).hasMessageContaining("already");
    assertThatThrownBy(check).isInstanceOf(ApprovalException.class).hasMessageContaining("0 approver(s)");
    // The requester's own key, an unlisted key, another namespace, a second key of the same person: none counts twice.
    approvals.addSignature(r.id(), sign(alice, Approvers.NAMESPACE, doc), "alice");
    approvals.addSignature(r.id(), sign(mallory, Approvers.NAMESPACE, doc), "mallory");
    approvals.addSignature(r.id(), sign(carol, "file", doc), "carol");
    approvals.addSignature(r.id(), sign(bob, Approvers.NAMESPACE, doc), "bob");
    approvals.addSignature(r.id(), sign(bobSecond, Approvers.NAMESPACE, doc), "bob");
    assertThatThrownBy(check).isInstanceOf(ApprovalException.class).hasMessageContaining("1 approver(s)")
        .hasMessageContaining("(bob)");
    approvals.addSignature(r.id(), sign(carol, Approvers.NAMESPACE, doc), "carol");
    assertThat(approvals.requireApproved(r.id(), "trpg", "id1", "digest1", "postgresql://db/prod", approvers, 2).id())
        .isEqualTo(r.id());
    // The same signatures do not approve another backup, another manifest or another target.
    assertThatThrownBy(() -> approvals.requireApproved(r.id(), "trpg", "id2", "digest1", "postgresql://db/prod",
        approvers, 2)).isInstanceOf(ApprovalException.class).hasMessageContaining("not this operation");
    assertThatThrownBy(() -> approvals.requireApproved(r.id(), "trpg", "id1", "digest2", "postgresql://db/prod",
        approvers, 2)).isInstanceOf(ApprovalException.class).hasMessageContaining("another manifest");
    // An edited request (another target) no longer matches what was signed.
    String key = RestoreApprovals.PREFIX + r.id() + ".json";
    String original;
    try (InputStream in = store.get(key)) {
      original = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    store.put(key, ByteSource.wrap(original.replace("postgresql://db/prod", "postgresql://db/other")
        .getBytes(StandardCharsets.UTF_8)));
    assertThatThrownBy(() -> approvals.requireApproved(r.id(), "trpg", "id1", "digest1", "postgresql://db/other",
        approvers, 2)).isInstanceOf(ApprovalException.class).hasMessageContaining("signed by a key the approvers file "
            + "does not list");
    // Expired requests are refused whatever their signatures.
    RestoreApprovals shortLived = new RestoreApprovals(store, audit, Duration.ZERO);
    RestoreApprovals.Request expired = shortLived.request("alice", "trpg", "id1", "digest1", "x", null);
    Thread.sleep(5);
    assertThatThrownBy(() -> shortLived.requireApproved(expired.id(), "trpg", "id1", "digest1", "x", approvers, 1))
        .isInstanceOf(ApprovalException.class).hasMessageContaining("expired");
  }

  @Test
  void environmentBackupNeverContainsSecrets() throws IOException {
    String canary = "canary-" + System.nanoTime();
    Map<String, String> env = Map.of(
        "APP_REGION", "ap-northeast-1",
        "APP_API_KEY", canary,
        "APP_DB_PASSWORD", canary,
        "APP_SLACK_TOKEN", canary,
        "DATABASE_URL", "postgresql://app:" + canary + "@db:5432/trpg",
        "HOME", "/root",
        "APP_FEATURE_FLAGS", "dice,maps");
    Repository repo = new Repository(store);
    Manifest m = BackupPlan.builder("config").source(EnvironmentSource.of(List.of("APP_*", "DATABASE_URL"), env))
        .repository(repo).build().run().manifest();
    String stored;
    try (InputStream in = repo.openRaw(m.artifacts().get(0), Secrets.none())) {
      stored = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    assertThat(stored).contains("APP_REGION", "ap-northeast-1", "APP_FEATURE_FLAGS").doesNotContain("DATABASE_URL")
        .doesNotContain(canary).doesNotContain("HOME");
    for (ObjectInfo o : store.list("")) {
      try (InputStream in = store.get(o.key())) {
        assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).as(o.key()).doesNotContain(canary);
      }
    }
    assertThat(m.source().facts().get("withheldAsSecret"))
        .isEqualTo(List.of("APP_API_KEY", "APP_DB_PASSWORD", "APP_SLACK_TOKEN", "DATABASE_URL"));
  }

  /** The operator-review cases: secrets hide behind names and values that a word list of names misses. */
  @Test
  void environmentBackupWithholdsSecretsByNameAndByValue() throws Exception {
    String canary = "Zq8vR3kLw9XbT2mN5pYc7sHd4";
    Map<String, String> env = new java.util.TreeMap<>();
    env.put("APP_DB_PASS", canary);
    env.put("APP_BACKUP_PASSPHRASE", canary);
    env.put("APP_SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T0001/B0002/" + canary);
    env.put("APP_NOTIFY_URL", "https://hooks.example.com/services/T0001/B0002/" + canary);
    env.put("APP_REDIS_URL", "redis://:" + canary + "@cache:6379");
    env.put("APP_SIGNED_URL", "https://cdn.example.com/a.png?X-Amz-Signature=" + canary);
    env.put("APP_JDBC", "jdbc:postgresql://db/app?user=app&password=" + canary);
    env.put("APP_LIBPQ", "host=db dbname=app password=" + canary);
    env.put("APP_TLS", "-----BEGIN PRIVATE KEY-----" + canary);
    env.put("APP_REGION", "ap-northeast-1");
    env.put("APP_DATABASE_URL", "postgresql://app@db:5432/trpg");
    env.put("APP_BUILD_ID", "d6c5f0e3a1b2");
    env.put("APP_PUBLIC_ID", canary);
    InMemoryStore store = new InMemoryStore();
    Repository repo = new Repository(store);
    Manifest m = BackupPlan.builder("config").source(EnvironmentSource.of(List.of("APP_*"), env)
        .allowSecret("APP_PUBLIC_ID")).repository(repo).build().run().manifest();
    String stored;
    try (InputStream in = repo.openRaw(m.artifacts().get(0), Secrets.none())) {
      stored = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    assertThat(stored).contains("APP_REGION", "APP_BUILD_ID", "postgresql://app@db:5432/trpg")
        .contains("\"APP_PUBLIC_ID\" : \"" + canary + "\"");
    assertThat(stored.replace(canary + "\"", "")).as("only the explicitly allowed value").doesNotContain(canary);
    assertThat((Map<Object, Object>) m.source().facts().get("withheld")).containsOnlyKeys("APP_DB_PASS", "APP_BACKUP_PASSPHRASE",
        "APP_SLACK_WEBHOOK_URL", "APP_NOTIFY_URL", "APP_SIGNED_URL", "APP_JDBC", "APP_LIBPQ", "APP_TLS", "APP_REDIS_URL")
        .containsEntry("APP_NOTIFY_URL", "high-entropy value (a key or token?)");
    assertThat(new String(dev.savepoint.core.internal.ManifestCodec.write(m), StandardCharsets.UTF_8)).doesNotContain(canary);
  }

  /** Issue 38.7: the everyday secrets a name list missed, each with its own canary; none is stored anywhere. */
  @Test
  void everydaySecretsAreWithheldOrMasked() throws Exception {
    Map<String, String> env = new java.util.TreeMap<>();
    env.put("APP_DB_PW", "canary-pw-Fz1");
    env.put("MYSQL_PWD", "canary-mysql-Fz2");
    env.put("APP_SIGNING", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
    env.put("APP_DATABASE_URL", "postgresql://app:canary/with@slash-Fz3@db:5432/trpg");
    env.put("APP_CACHE_URL", "redis://user:canary@at-Fz4@cache:6379/0");
    env.put("JAVA_OPTS", "-Xmx1g -Dapp.db.password=canary-jvm-Fz5 -Dfile.encoding=UTF-8");
    env.put("APP_BACKUP_PHRASE", "correct horse battery canary-Fz6");
    env.put("APP_OPTIONS", "retries=3 api_key: canary-opt-Fz7");
    env.put("APP_ARGS", "--user app --password canary-arg-Fz9");
    env.put("APP_JWT", "canary-jwt-Fz8");
    env.put("APP_REGION", "ap-northeast-1");
    env.put("APP_SPINNER_STYLE", "dots");
    InMemoryStore store = new InMemoryStore();
    Repository repo = new Repository(store);
    Manifest m = BackupPlan.builder("config").source(EnvironmentSource.of(List.of("APP_*", "MYSQL_PWD", "JAVA_OPTS"),
        env)).repository(repo).build().run().manifest();
    String stored;
    try (InputStream in = repo.openRaw(m.artifacts().get(0), Secrets.none())) {
      stored = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    assertThat(stored).contains("ap-northeast-1", "APP_SPINNER_STYLE").doesNotContain("***");
    for (ObjectInfo o : store.list("")) {
      try (InputStream in = store.get(o.key())) {
        String content = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        assertThat(content).as(o.key()).doesNotContain("canary").doesNotContain("9f86d081884c7d659a2f");
      }
    }
    assertThat((Map<Object, Object>) m.source().facts().get("withheld")).containsOnlyKeys("APP_DB_PW", "MYSQL_PWD",
        "APP_SIGNING", "JAVA_OPTS", "APP_BACKUP_PHRASE", "APP_OPTIONS", "APP_JWT", "APP_ARGS", "APP_DATABASE_URL",
        "APP_CACHE_URL");
    assertThat(Redaction.uri("see postgresql://a:p/w@d@h/db and s3://b/k?X-Amz-Security-Token=zz&region=x"))
        .isEqualTo("see postgresql://a:***@h/db and s3://b/k?X-Amz-Security-Token=***&region=x");
  }

  @Test
  void aDotenvFileReadsBackExactlyAndRunsNothingWhenSourced(@org.junit.jupiter.api.io.TempDir Path tmp)
      throws Exception {
    Path pwned = tmp.resolve("pwned");
    Map<String, String> env = new java.util.TreeMap<>();
    env.put("APP_CMD", "$(touch " + pwned + ")");
    env.put("APP_TICKS", "`touch " + pwned + "` and 'quotes' and \\ backslash");
    env.put("APP_VAR", "${HOME} $HOME");
    env.put("APP_QUOTES", "it's \"quoted\"");
    env.put("APP_PLAIN", "ap-northeast-1");
    env.put("APP_SPACE", "a b  c");
    Repository repo = new Repository(new InMemoryStore());
    Manifest m = BackupPlan.builder("config").source(EnvironmentSource.of(List.of("APP_*"), env)
        .allowSecret(env.keySet().toArray(String[]::new))).repository(repo).build().run().manifest();
    Path file = tmp.resolve(".env");
    repo.restore(m, new EnvironmentFileTarget(file), Secrets.none());

    String printAll = env.keySet().stream().map(k -> " \"$" + k + "\"").collect(java.util.stream.Collectors.joining());
    Process sh = new ProcessBuilder("sh", "-c", ". \"$1\" && printf '%s\\0'" + printAll, "sh", file.toString()).start();
    String[] read = new String(sh.getInputStream().readAllBytes(), StandardCharsets.UTF_8).split("\0");
    assertThat(sh.waitFor()).isZero();
    assertThat(read).containsExactly(env.values().toArray(String[]::new));
    assertThat(pwned).doesNotExist();

    Map<String, String> odd = Map.of("APP_OK", "1", "APP-DASH", "2", "APP_X\nEVIL=1", "3");
    Manifest oddBackup = BackupPlan.builder("odd").source(EnvironmentSource.of(List.of("APP*"), odd))
        .repository(repo).build().run().manifest();
    Path other = tmp.resolve("other.env");
    assertThatThrownBy(() -> repo.restore(oddBackup, new EnvironmentFileTarget(other), Secrets.none()))
        .isInstanceOf(RestoreException.class).hasMessageContaining("2 variable name(s)")
        .hasMessageContaining("'APP-DASH'").hasMessageContaining("'APP_X?EVIL=1'");
    assertThat(other).doesNotExist();
  }
}
