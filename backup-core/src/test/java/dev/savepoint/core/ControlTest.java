package dev.savepoint.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
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

  @Test
  void restoreNeedsDistinctApproversOtherThanTheRequester() throws IOException {
    RestoreApprovals approvals = new RestoreApprovals(store, audit, 2, Duration.ofHours(4));
    RestoreApprovals.Request r = approvals.request("alice", "trpg", "id1", "postgresql://db/prod", "incident 42");
    assertThatThrownBy(() -> approvals.requireApproved(r.id(), "trpg", "id1", "postgresql://db/prod"))
        .isInstanceOf(ApprovalException.class).hasMessageContaining("0 of the 2");
    assertThatThrownBy(() -> approvals.approve(r.id(), "alice")).isInstanceOf(ApprovalException.class)
        .hasMessageContaining("cannot approve");
    approvals.approve(r.id(), "bob");
    assertThatThrownBy(() -> approvals.approve(r.id(), "bob")).isInstanceOf(ApprovalException.class);
    assertThatThrownBy(() -> approvals.requireApproved(r.id(), "trpg", "id1", "postgresql://db/prod"))
        .hasMessageContaining("1 of the 2");
    approvals.approve(r.id(), "carol");
    assertThat(approvals.requireApproved(r.id(), "trpg", "id1", "postgresql://db/prod").approvers())
        .containsExactly("bob", "carol");
    assertThatThrownBy(() -> approvals.requireApproved(r.id(), "trpg", "id2", "postgresql://db/prod"))
        .isInstanceOf(ApprovalException.class).hasMessageContaining("not this restore");
    assertThat(audit.verify()).extracting(AuditLog.Entry::action)
        .containsExactly("restore-request", "restore-approve", "restore-approve");

    RestoreApprovals shortLived = new RestoreApprovals(store, audit, 1, Duration.ZERO);
    RestoreApprovals.Request expired = shortLived.request("alice", "trpg", "id1", "x", null);
    assertThatThrownBy(() -> shortLived.approve(expired.id(), "bob")).isInstanceOf(ApprovalException.class)
        .hasMessageContaining("expired");
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
    assertThat(stored).contains("APP_REGION", "ap-northeast-1", "APP_FEATURE_FLAGS", "postgresql://app:***@db:5432/trpg")
        .doesNotContain(canary).doesNotContain("HOME");
    for (ObjectInfo o : store.list("")) {
      try (InputStream in = store.get(o.key())) {
        assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).as(o.key()).doesNotContain(canary);
      }
    }
    assertThat(m.source().facts().get("withheldAsSecret"))
        .isEqualTo(List.of("APP_API_KEY", "APP_DB_PASSWORD", "APP_SLACK_TOKEN"));
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
    assertThat(stored).contains("APP_REGION", "APP_BUILD_ID", "postgresql://app@db:5432/trpg", "APP_REDIS_URL")
        .contains("\"APP_PUBLIC_ID\" : \"" + canary + "\"");
    assertThat(stored.replace(canary + "\"", "")).as("only the explicitly allowed value").doesNotContain(canary);
    assertThat((Map<Object, Object>) m.source().facts().get("withheld")).containsOnlyKeys("APP_DB_PASS", "APP_BACKUP_PASSPHRASE",
        "APP_SLACK_WEBHOOK_URL", "APP_NOTIFY_URL", "APP_SIGNED_URL", "APP_JDBC", "APP_LIBPQ", "APP_TLS")
        .containsEntry("APP_NOTIFY_URL", "high-entropy value (a key or token?)");
    assertThat(new String(dev.savepoint.core.internal.ManifestCodec.write(m), StandardCharsets.UTF_8)).doesNotContain(canary);
  }
}
