package dev.savepoint.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CliOperationsTest {
  static final ObjectMapper JSON = new ObjectMapper();

  @TempDir
  Path tmp;

  @Test
  void pruneApproveRestoreAndAudit() throws Exception {
    String repo = "file:" + tmp.resolve("repo");
    Path file = Files.writeString(tmp.resolve("settings.sql"), "campaign settings");
    for (int i = 0; i < 3; i++) {
      assertThat(CliProcess.run("backup", "--insecure-unsigned", "--repo", repo, "--plan", "tier2", "--source", "file:" + file).exit()).isZero();
    }
    CliProcess.Result dry = CliProcess.run("prune", "--repo", repo, "--plan", "tier2", "--keep-last", "2", "--dry-run", "--json");
    assertThat(dry.exit()).as(dry.err()).isZero();
    JsonNode verdicts = JSON.readTree(dry.out());
    assertThat(verdicts).hasSize(3);
    assertThat(verdicts.get(0).get("reasons").toString()).contains("newest backup", "last 2");
    assertThat(verdicts.get(2).get("keep").asBoolean()).isFalse();
    JsonNode three = JSON.readTree(CliProcess.run("list", "--repo", repo, "--json").out());
    assertThat(three).hasSize(3);
    // list --at (the runbook's "choose the backup"): the one a restore --at that time uses.
    String secondTakenAt = three.get(1).get("startedAt").asText();
    JsonNode asOf = JSON.readTree(CliProcess.run("list", "--repo", repo, "--plan", "tier2", "--at",
        java.time.Instant.parse(secondTakenAt).plusMillis(1).toString(), "--json").out());
    assertThat(asOf).hasSize(1);
    assertThat(asOf.get(0).get("id").asText()).isEqualTo(three.get(1).get("id").asText());
    CliProcess.Result tooEarly = CliProcess.run("list", "--repo", repo, "--plan", "tier2", "--at", "2001-01-01T00:00:00Z");
    assertThat(tooEarly.exit()).isEqualTo(Main.USAGE);
    assertThat(tooEarly.err()).contains("no complete backup of plan 'tier2'");
    CliProcess.Result notATime = CliProcess.run("list", "--repo", repo, "--at", "yesterday");
    assertThat(notATime.exit()).isEqualTo(Main.USAGE);
    assertThat(notATime.err()).contains("--at must be an ISO-8601 instant", "'yesterday'");
    // No rule would delete all but the newest: refused, nothing deleted.
    CliProcess.Result noRule = CliProcess.run("prune", "--repo", repo, "--plan", "tier2");
    assertThat(noRule.exit()).isEqualTo(Main.USAGE);
    assertThat(noRule.err()).contains("at least one rule");
    assertThat(CliProcess.run("prune", "--repo", repo, "--plan", "tier2", "--keep-last", "0").exit()).isEqualTo(Main.USAGE);
    CliProcess.Result all = CliProcess.run("prune", "--repo", repo, "--plan", "tier2", "--keep-last", "all", "--json");
    assertThat(all.exit()).as(all.err()).isZero();
    assertThat(JSON.readTree(CliProcess.run("list", "--repo", repo, "--json").out())).hasSize(3);
    assertThat(CliProcess.run("prune", "--repo", repo, "--plan", "tier2", "--keep-last", "2").exit()).isZero();
    assertThat(JSON.readTree(CliProcess.run("list", "--repo", repo, "--json").out())).hasSize(2);

    String to = "file:" + tmp.resolve("restored.sql");
    CliProcess.Result refused = CliProcess.run("restore", "--insecure-unsigned", "--repo", repo, "--plan", "tier2", "--to", to,
        "--require-approvals", "2");
    assertThat(refused.exit()).isEqualTo(2);
    assertThat(refused.err()).contains("requires 2 approval(s)");

    // The approvers and their SSH keys, in a file outside the repository.
    Path alice = dev.savepoint.testkit.SshKeys.create(tmp, "alice");
    Path bob = dev.savepoint.testkit.SshKeys.create(tmp, "bob");
    Path carol = dev.savepoint.testkit.SshKeys.create(tmp, "carol");
    Path mallory = dev.savepoint.testkit.SshKeys.create(tmp, "mallory");
    Path approvers = Files.writeString(tmp.resolve("allowed_signers"), String.join("\n",
        "alice " + Files.readString(tmp.resolve("alice.pub")).strip(),
        "bob " + Files.readString(tmp.resolve("bob.pub")).strip(),
        "carol " + Files.readString(tmp.resolve("carol.pub")).strip()));
    String[] restoreArgs = {"restore", "--insecure-unsigned", "--repo", repo, "--plan", "tier2", "--to", to, "--require-approvals", "2",
        "--approvers", approvers.toString(), "--approval"};

    // One person with write access, names from the environment only: refused, nothing restored.
    CliProcess.Result unsigned = CliProcess.run(Map.of("SAVEPOINT_PRINCIPAL", "mallory"), "approve", "--repo", repo,
        "--request", "--plan", "tier2", "--to", to, "--reason", "trust me");
    assertThat(unsigned.exit()).isEqualTo(2);
    assertThat(unsigned.err()).contains("--request needs --sign-with");
    CliProcess.Result spoofed = CliProcess.run(Map.of("SAVEPOINT_PRINCIPAL", "mallory"), "approve", "--repo", repo,
        "--request", "--plan", "tier2", "--to", to, "--reason", "trust me", "--sign-with", mallory.toString());
    String spoofedId = spoofed.out().split("\\s+")[1].replace(":", "");
    assertThat(CliProcess.run(Map.of("SAVEPOINT_PRINCIPAL", "alice"), "approve", "--repo", repo, spoofedId).exit())
        .isEqualTo(2);
    assertThat(CliProcess.run("approve", "--repo", repo, spoofedId, "--sign-with", mallory.toString()).exit()).isZero();
    CliProcess.Result refusedSpoof = CliProcess.run(concat(restoreArgs, spoofedId));
    assertThat(refusedSpoof.exit()).isEqualTo(2);
    assertThat(refusedSpoof.err()).contains("is signed by a key the approvers file does not list");
    assertThat(tmp.resolve("restored.sql")).doesNotExist();
    assertThat(CliProcess.run(Map.of("SAVEPOINT_PRINCIPAL", "mallory"), "restore", "--insecure-unsigned", "--repo", repo, "--plan", "tier2",
        "--to", to, "--require-approvals", "2", "--approval", spoofedId).err()).contains("--approvers");

    CliProcess.Result request = CliProcess.run(Map.of("SAVEPOINT_PRINCIPAL", "alice"), "approve", "--repo", repo,
        "--request", "--plan", "tier2", "--to", to, "--reason", "incident 7", "--sign-with", alice.toString());
    assertThat(request.exit()).as(request.err()).isZero();
    String id = request.out().split("\\s+")[1].replace(":", "");
    assertThat(CliProcess.run("approve", "--repo", repo, id, "--sign-with", alice.toString()).exit()).isZero();
    CliProcess.Result bobSigns = CliProcess.run("approve", "--repo", repo, id, "--sign-with", bob.toString());
    assertThat(bobSigns.exit()).isZero();
    // What you sign is what you see: the approver is shown every field the signature covers before signing.
    assertThat(bobSigns.out()).contains("signing request " + id, "restore tier2/", "to:        " + to,
        "requester: alice", "reason:    incident 7", "expires:");
    CliProcess.Result oneShort = CliProcess.run(concat(restoreArgs, id));
    assertThat(oneShort.exit()).isEqualTo(2);
    assertThat(oneShort.err()).contains("1 approver(s) other than the requester alice (bob)");
    // Carol signs on her own machine with her own tools; the signature is handed over as a file.
    Path document = tmp.resolve("request.json");
    Files.write(document, CliProcess.run("approve", "--repo", repo, id, "--show").out()
        .getBytes(java.nio.charset.StandardCharsets.UTF_8));
    Process sign = new ProcessBuilder("ssh-keygen", "-q", "-Y", "sign", "-n", "savepoint-restore", "-f", carol.toString(),
        document.toString()).redirectErrorStream(true).start();
    assertThat(sign.waitFor()).as(new String(sign.getInputStream().readAllBytes())).isZero();
    assertThat(CliProcess.run("approve", "--repo", repo, id, "--signature", document + ".sig").exit()).isZero();
    CliProcess.Result restore = CliProcess.run(concat(restoreArgs, id));
    assertThat(restore.exit()).as(restore.err()).isZero();
    assertThat(tmp.resolve("restored.sql")).hasContent("campaign settings");
    // An approval given is checked even where none is required: it does not cover another target.
    CliProcess.Result elsewhere = CliProcess.run("restore", "--insecure-unsigned", "--repo", repo, "--plan", "tier2",
        "--to", "file:" + tmp.resolve("elsewhere.sql"), "--approvers", approvers.toString(), "--approval", id);
    assertThat(elsewhere.exit()).isEqualTo(2);
    assertThat(elsewhere.err()).contains("not this operation");

    CliProcess.Result audit = CliProcess.run("audit", "--repo", repo, "--json");
    assertThat(audit.exit()).as(audit.err()).isZero();
    assertThat(JSON.readTree(audit.out()).findValuesAsText("action"))
        .containsSequence("approval-request", "approval-sign", "approval-sign", "approval-sign", "approval-verified",
            "restore")
        .contains("backup", "prune");
  }

  @Test
  void environmentSourceWithholdsSecrets() throws Exception {
    String canary = "canary-" + System.nanoTime();
    String repo = "file:" + tmp.resolve("repo");
    CliProcess.Result r = CliProcess.run(Map.of("APP_REGION", "tokyo", "APP_SECRET_KEY", canary),
        "backup", "--insecure-unsigned", "--repo", repo, "--plan", "config", "--source", "env:APP_*", "--compress", "none");
    assertThat(r.exit()).as(r.err()).isZero();
    CliProcess.Result out = CliProcess.run("restore", "--insecure-unsigned", "--repo", repo, "--plan", "config", "--to", "-");
    assertThat(out.out()).contains("APP_REGION", "tokyo").doesNotContain(canary);
  }

  @Test
  void modifiedSignedManifestIsRefusedWithExit3() throws Exception {
    String repo = "file:" + tmp.resolve("repo");
    Map<String, String> env = Map.of("MANIFEST_KEY", "k".repeat(40));
    Path file = Files.writeString(tmp.resolve("f.sql"), "select 1;");
    assertThat(CliProcess.run(env, "backup", "--insecure-unsigned", "--repo", repo, "--plan", "p", "--source", "file:" + file,
        "--manifest-hmac-env", "MANIFEST_KEY").exit()).isZero();
    assertThat(CliProcess.run(env, "verify", "--insecure-unsigned", "--repo", repo, "--plan", "p", "--manifest-hmac-env", "MANIFEST_KEY").exit())
        .isZero();
    Path manifest;
    try (var walk = Files.walk(tmp.resolve("repo/p"))) {
      manifest = walk.filter(x -> x.getFileName().toString().equals("manifest.json")).findFirst().orElseThrow();
    }
    Files.writeString(manifest, Files.readString(manifest).replace("\"tier\" : null", "\"tier\" : \"gold\""));
    CliProcess.Result verify = CliProcess.run(env, "verify", "--insecure-unsigned", "--repo", repo, "--plan", "p", "--manifest-hmac-env", "MANIFEST_KEY");
    assertThat(verify.exit()).isEqualTo(3);
    assertThat(verify.err()).contains("signature check");
  }

  @Test
  void aPlanFileRetentionWithoutRulesIsRejectedWhenLoaded() throws Exception {
    Path plans = Files.writeString(tmp.resolve("plans.yaml"), """
        plans:
          - name: config
            source: file:%s
            repository: file:%s
            insecureUnsigned: true
            retention: {zone: Asia/Tokyo}
        """.formatted(tmp.resolve("plans.yaml"), tmp.resolve("repo")));
    CliProcess.Result run = CliProcess.run("run", "--config", plans.toString());
    assertThat(run.exit()).isEqualTo(Main.USAGE);
    assertThat(run.err()).contains("plan 'config': retention: a retention needs at least one rule");
    assertThat(tmp.resolve("repo")).doesNotExist();
  }

  static String[] concat(String[] first, String... more) {
    String[] all = java.util.Arrays.copyOf(first, first.length + more.length);
    System.arraycopy(more, 0, all, first.length, more.length);
    return all;
  }

  @Test
  void theAuditHeadGoesOutOfBandAndRemovedEntriesAreDetectedAgainstIt() throws Exception {
    java.util.List<String> heads = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
    com.sun.net.httpserver.HttpServer sink = com.sun.net.httpserver.HttpServer.create(
        new java.net.InetSocketAddress("127.0.0.1", 0), 0);
    sink.createContext("/head", exchange -> {
      heads.add(new String(exchange.getRequestBody().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8));
      exchange.sendResponseHeaders(204, -1);
      exchange.close();
    });
    sink.start();
    try {
      String repo = "file:" + tmp.resolve("repo");
      Path file = Files.writeString(tmp.resolve("f.sql"), "select 1;");
      Map<String, String> env = Map.of("SAVEPOINT_AUDIT_WEBHOOK", "http://127.0.0.1:" + sink.getAddress().getPort() + "/head");
      assertThat(CliProcess.run(env, "backup", "--insecure-unsigned", "--repo", repo, "--plan", "p", "--source", "file:" + file).exit()).isZero();
      assertThat(CliProcess.run(env, "backup", "--insecure-unsigned", "--repo", repo, "--plan", "p", "--source", "file:" + file).exit()).isZero();
      assertThat(heads).hasSize(2);
      JsonNode head = JSON.readTree(heads.get(1));
      String expect = head.get("sequence").asText() + ":" + head.get("hash").asText();
      CliProcess.Result intact = CliProcess.run("audit", "--repo", repo, "--expect-head", expect);
      assertThat(intact.exit()).as(intact.err()).isZero();
      assertThat(intact.out()).contains("is in the chain");
      try (var entries = Files.list(tmp.resolve("repo/_savepoint/audit"))) {
        Files.delete(entries.sorted().reduce((a, b) -> b).orElseThrow()); // the newest entry, removed
      }
      assertThat(CliProcess.run("audit", "--repo", repo).exit()).as("the shorter chain alone looks fine").isZero();
      CliProcess.Result truncated = CliProcess.run("audit", "--repo", repo, "--expect-head", expect);
      assertThat(truncated.exit()).isEqualTo(Main.INTEGRITY);
      assertThat(truncated.err()).contains("newer entries were removed");
    } finally {
      sink.stop(0);
    }
  }

  @Test
  void aRecoveryWithAnApproveStepRunsNothingUntilTwoOthersApprove() throws Exception {
    String repo = "file:" + tmp.resolve("repo");
    Path done = tmp.resolve("writers-stopped");
    Path file = Files.writeString(tmp.resolve("recovery.yaml"), """
        name: trpg
        repository: %s
        steps:
          - {name: two-person-rule, approve: {quorum: 2}}
          - {name: stop-writers, command: [sh, -c, "touch %s"]}
        """.formatted(repo, done));
    Path alice = dev.savepoint.testkit.SshKeys.create(tmp, "alice");
    Path bob = dev.savepoint.testkit.SshKeys.create(tmp, "bob");
    Path carol = dev.savepoint.testkit.SshKeys.create(tmp, "carol");
    Path approvers = Files.writeString(tmp.resolve("allowed_signers"), String.join("\n",
        "alice " + Files.readString(tmp.resolve("alice.pub")).strip(),
        "bob " + Files.readString(tmp.resolve("bob.pub")).strip(),
        "carol " + Files.readString(tmp.resolve("carol.pub")).strip()));

    CliProcess.Result unapproved = CliProcess.run("recover", "--insecure-unsigned", "--config", file.toString(), "--approvers",
        approvers.toString());
    assertThat(unapproved.exit()).isNotZero();
    assertThat(unapproved.out()).contains("two-person-rule", "failed", "requires 2 approvals");
    assertThat(done).as("nothing ran before the approval").doesNotExist();

    CliProcess.Result request = CliProcess.run(Map.of("SAVEPOINT_PRINCIPAL", "alice"), "approve", "--repo", repo,
        "--request", "--recovery", file.toString(), "--reason", "incident 9", "--sign-with", alice.toString());
    assertThat(request.exit()).as(request.err()).isZero();
    String id = request.out().split("\\s+")[1].replace(":", "");
    // A recovery is approved with the file in hand: its steps are shown, its digest checked.
    CliProcess.Result blind = CliProcess.run("approve", "--repo", repo, id, "--sign-with", bob.toString());
    assertThat(blind.exit()).isEqualTo(Main.USAGE);
    assertThat(blind.err()).contains("approve it with the recovery file in hand, --recovery <file>");
    Path other = Files.writeString(tmp.resolve("other.yaml"), Files.readString(file) + "# edited\n");
    assertThat(CliProcess.run("approve", "--repo", repo, id, "--recovery", other.toString(), "--sign-with",
        bob.toString()).err()).contains("is not the one request " + id + " names");
    assertThat(CliProcess.run("approve", "--repo", repo, id, "--recovery", file.toString(), "--sign-with",
        alice.toString()).exit()).isZero();
    CliProcess.Result bobSees = CliProcess.run("approve", "--repo", repo, id, "--recovery", file.toString(),
        "--sign-with", bob.toString());
    assertThat(bobSees.exit()).isZero();
    assertThat(bobSees.out()).contains("steps (" + file + "):", "two-person-rule");
    CliProcess.Result oneShort = CliProcess.run("recover", "--insecure-unsigned", "--config", file.toString(), "--approvers",
        approvers.toString(), "--approval", id);
    assertThat(oneShort.out()).contains("1 approver(s) other than the requester alice");
    assertThat(done).doesNotExist();

    // An approval is for this recovery file as written: an edited file is another recovery.
    assertThat(CliProcess.run("approve", "--repo", repo, id, "--recovery", file.toString(), "--sign-with",
        carol.toString()).exit()).isZero();
    Path edited = Files.writeString(tmp.resolve("edited.yaml"), Files.readString(file).replace("touch", "touch -c"));
    assertThat(CliProcess.run("recover", "--insecure-unsigned", "--config", edited.toString(), "--approvers", approvers.toString(),
        "--approval", id).out()).contains("not this operation");
    CliProcess.Result approved = CliProcess.run("recover", "--insecure-unsigned", "--config", file.toString(), "--approvers",
        approvers.toString(), "--approval", id);
    assertThat(approved.exit()).as(approved.out() + approved.err()).isZero();
    assertThat(approved.out()).contains("approved by [bob, carol] (request " + id);
    assertThat(done).exists();
  }

  /**
   * Issue 38.7: a password in a target URL — in its query or in its user information, with '/' or '@' in it — lands in
   * no approval request, audit entry, output or error.
   */
  @Test
  void aPasswordInATargetUrlLandsNowhere() throws Exception {
    String repo = "file:" + tmp.resolve("repo");
    Path file = Files.writeString(tmp.resolve("settings.sql"), "campaign settings");
    assertThat(CliProcess.run("backup", "--insecure-unsigned", "--repo", repo, "--plan", "tier2", "--source",
        "file:" + file).exit()).isZero();
    List<String> outputs = new java.util.ArrayList<>();
    CliProcess.Result request = CliProcess.run(Map.of("SAVEPOINT_PRINCIPAL", "alice"), "approve", "--insecure-unsigned",
        "--repo", repo, "--request", "--plan", "tier2", "--to", "postgresql://app@db/trpg?password=CanaryQuery7",
        "--reason", "incident 8", "--sign-with", dev.savepoint.testkit.SshKeys.create(tmp, "alice").toString());
    assertThat(request.exit()).as(request.err()).isZero();
    outputs.add(request.out() + request.err());
    String id = request.out().split("\\s+")[1].replace(":", "");
    CliProcess.Result show = CliProcess.run("approve", "--insecure-unsigned", "--repo", repo, id, "--show");
    outputs.add(show.out() + show.err());
    assertThat(show.out()).contains("password=***");
    CliProcess.Result halfEchoed = CliProcess.run("restore", "--insecure-unsigned", "--repo", repo, "--plan", "tier2",
        "--to", "postgresql://app:Canary/Slash8@127.0.0.1:5432/trpg");
    assertThat(halfEchoed.exit()).isEqualTo(Main.USAGE);
    outputs.add(halfEchoed.out() + halfEchoed.err());
    CliProcess.Result audit = CliProcess.run("audit", "--insecure-unsigned", "--repo", repo, "--json");
    outputs.add(audit.out() + audit.err());
    for (String output : outputs) {
      assertThat(output).doesNotContain("Canary").doesNotContain("Slash8");
    }
    try (var files = Files.walk(tmp.resolve("repo"))) {
      for (Path f : files.filter(Files::isRegularFile).toList()) {
        assertThat(Files.readString(f, java.nio.charset.StandardCharsets.ISO_8859_1)).as(f.toString())
            .doesNotContain("Canary");
      }
    }
  }

  /** Issue 38.6: an operation whose audit entry cannot be written is done, but never green: exit 1, said once. */
  @Test
  void anOperationTheAuditCannotRecordExitsNonZero() throws Exception {
    Path repoDir = tmp.resolve("repo");
    String repo = "file:" + repoDir;
    Path file = Files.writeString(tmp.resolve("settings.sql"), "campaign settings");
    assertThat(CliProcess.run("backup", "--insecure-unsigned", "--repo", repo, "--plan", "tier2", "--source",
        "file:" + file).exit()).isZero();
    Path auditDir = repoDir.resolve("_savepoint/audit");
    try (var entries = Files.walk(auditDir)) {
      entries.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
    Files.writeString(auditDir, "a file where the log's folder belongs");
    CliProcess.Result backup = CliProcess.run("backup", "--insecure-unsigned", "--repo", repo, "--plan", "tier2",
        "--source", "file:" + file);
    assertThat(backup.exit()).as(backup.err()).isEqualTo(Main.FAILED);
    assertThat(backup.out()).contains("complete");
    assertThat(backup.errors()).singleElement().asString().startsWith("savepoint: the audit log is broken: could not "
        + "write the audit entry for backup tier2/");
  }
}
