package dev.savepoint.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.savepoint.testkit.SshKeys;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 38.5: the operator an approval binds does not choose it. A policy the admins signed decides; flags and an
 * approvers file of the operator's own count for nothing against it; a pinned host refuses without one.
 */
class CliApprovalPolicyTest {
  @TempDir
  Path tmp;

  @Test
  void thePolicyTheAdminsSignedBindsTheOperatorWhateverTheFlagsSay() throws Exception {
    String repo = "file:" + tmp.resolve("repo");
    Path data = Files.writeString(tmp.resolve("settings.sql"), "campaign settings");
    for (int i = 0; i < 3; i++) {
      assertThat(CliProcess.run("backup", "--insecure-unsigned", "--repo", repo, "--plan", "tier2", "--source",
          "file:" + data).exit()).isZero();
    }
    Path ann = SshKeys.create(tmp, "ann");
    Path ben = SshKeys.create(tmp, "ben");
    Path bob = SshKeys.create(tmp, "bob");
    Path carol = SshKeys.create(tmp, "carol");
    Path mallory = SshKeys.create(tmp, "mallory");
    Path accomplice = SshKeys.create(tmp, "accomplice");
    Path admins = Files.writeString(tmp.resolve("admins"), SshKeys.allowedSigner("ann", ann) + "\n"
        + SshKeys.allowedSigner("ben", ben) + "\n");
    Path approvers = Files.writeString(tmp.resolve("approvers"), SshKeys.allowedSigner("bob", bob) + "\n"
        + SshKeys.allowedSigner("carol", carol) + "\n" + SshKeys.allowedSigner("mallory", mallory) + "\n");
    String to = "file:" + tmp.resolve("restored.sql");

    CliProcess.Result proposed = CliProcess.run("policy", "propose", "--repo", repo, "--admins", admins.toString(),
        "--approvers", approvers.toString(), "--require", "restore=2", "--require", "delete=1", "--require",
        "prune=1", "--require", "restore-pitr=2", "--require", "recover=2", "--sign-with", ann.toString());
    assertThat(proposed.exit()).as(proposed.err()).isZero();
    assertThat(proposed.out()).contains("approval policy version 1", "restore:          2 approval(s)",
        "admins:           [ann, ben], 2 of them adopt the next version");
    // Proposed, not adopted: today's behaviour, said once.
    CliProcess.Result before = CliProcess.run("restore", "--insecure-unsigned", "--repo", repo, "--plan", "tier2",
        "--to", to);
    assertThat(before.exit()).as(before.err()).isZero();
    assertThat(before.err()).containsOnlyOnce("this repository has no approval policy");
    Files.delete(tmp.resolve("restored.sql"));
    assertThat(CliProcess.run("policy", "show", "--repo", repo).out()).contains("no approval policy in force",
        "proposed (signed by 1 of the 2 its own admins needed: ann; sign with: savepoint policy sign 1 --sha256");
    CliProcess.Result adopted = CliProcess.run("policy", "sign", "--repo", repo, "1", "--sign-with", ben.toString());
    assertThat(adopted.exit()).as(adopted.err()).isZero();
    assertThat(adopted.out()).contains("policy version 1 is in force");
    assertThat(adopted.err()).contains("signing approval policy version 1", "approver key: bob ssh-ed25519");

    // The flag says 0; the policy says 2: refused, nothing restored, whatever kind of restore.
    CliProcess.Result restore = CliProcess.run("restore", "--insecure-unsigned", "--repo", repo, "--plan", "tier2",
        "--to", to, "--require-approvals", "0");
    assertThat(restore.exit()).isEqualTo(Main.USAGE);
    assertThat(restore.err()).contains("restore requires 2 approval(s) (approval policy version 1)");
    assertThat(tmp.resolve("restored.sql")).doesNotExist();
    CliProcess.Result pitr = CliProcess.run("restore", "--insecure-unsigned", "--repo", repo, "--plan", "tier2",
        "--to", "pgdata:" + tmp.resolve("pgdata"));
    assertThat(pitr.exit()).isEqualTo(Main.USAGE);
    assertThat(pitr.err()).contains("restore-pitr requires 2 approval(s)");
    // A recovery cannot leave out the approval by editing its file: the policy asks for an approve step first.
    Path recovery = Files.writeString(tmp.resolve("recovery.yaml"), """
        name: trpg
        repository: %s
        steps:
          - {name: stop-the-app, command: [touch, "%s"]}
          - {name: two-person-rule, approve: {quorum: 1}}
        """.formatted(repo, tmp.resolve("stopped")));
    CliProcess.Result recover = CliProcess.run("recover", "--insecure-unsigned", "--config", recovery.toString());
    assertThat(recover.exit()).isEqualTo(Main.USAGE);
    assertThat(recover.err()).contains("policy (version 1) requires 2 approval(s) to recover",
        "an approve step before its first step that changes anything");
    assertThat(tmp.resolve("stopped")).doesNotExist();
    // A drill of a recovery is bound too (its steps can restore anywhere): the approve step runs, not skipped.
    Path approvedFirst = Files.writeString(tmp.resolve("approved-first.yaml"), """
        name: trpg
        repository: %s
        steps:
          - {name: two-person-rule, approve: {quorum: 2}}
          - {name: stop-the-app, command: [touch, "%s"], drill: {command: [touch, "%s"]}}
        """.formatted(repo, tmp.resolve("stopped"), tmp.resolve("stopped")));
    CliProcess.Result drill = CliProcess.run("recover", "--insecure-unsigned", "--config", approvedFirst.toString(),
        "--drill");
    assertThat(drill.exit()).isNotZero();
    assertThat(drill.out()).contains("two-person-rule", "requires 2 approvals");
    assertThat(tmp.resolve("stopped")).doesNotExist();
    // What a drill runs is what counts: a read-only step whose drill entry is a command, before the approval.
    Path sneaky = Files.writeString(tmp.resolve("sneaky.yaml"), """
        name: trpg
        repository: %s
        steps:
          - {name: look, check: {sql: "select 1", database: "postgresql://nobody@127.0.0.1:1/x"}, drill: {command: [touch, "%s"]}}
          - {name: two-person-rule, approve: {quorum: 2}}
        """.formatted(repo, tmp.resolve("pwned")));
    CliProcess.Result sneakyDrill = CliProcess.run("recover", "--insecure-unsigned", "--config", sneaky.toString(),
        "--drill");
    assertThat(sneakyDrill.exit()).isEqualTo(Main.USAGE);
    assertThat(sneakyDrill.err()).contains("an approve step before its first step that changes anything");
    assertThat(tmp.resolve("pwned")).doesNotExist();
    JsonNode listed = new ObjectMapper().readTree(CliProcess.run("list", "--repo", repo, "--json").out());
    String oldest = listed.get(0).get("id").asText(); // list is oldest first
    CliProcess.Result delete = CliProcess.run("delete", "--repo", repo, "--plan", "tier2", oldest);
    assertThat(delete.exit()).isEqualTo(Main.USAGE);
    assertThat(delete.err()).contains("delete requires 1 approval(s)");
    CliProcess.Result prune = CliProcess.run("prune", "--repo", repo, "--plan", "tier2", "--keep-last", "1");
    assertThat(prune.exit()).isEqualTo(Main.USAGE);
    List<String> doomed = new ArrayList<>(List.of(oldest, listed.get(1).get("id").asText()));
    java.util.Collections.sort(doomed);
    assertThat(prune.err()).contains("prune requires 1 approval(s)", "--to prune --backup " + String.join(",", doomed));
    assertThat(new ObjectMapper().readTree(CliProcess.run("list", "--repo", repo, "--json").out())).hasSize(3);

    // Mallory (an approver, with write access) brings her own approvers file listing an accomplice's key: the
    // policy names the approvers, so the accomplice's signature counts for nothing.
    Path own = Files.writeString(tmp.resolve("own-approvers"), SshKeys.allowedSigner("mallory", mallory) + "\n"
        + SshKeys.allowedSigner("accomplice", accomplice) + "\n" + SshKeys.allowedSigner("accomplice2", accomplice));
    String request = requestId(CliProcess.run("approve", "--repo", repo, "--request", "--plan", "tier2", "--to", to,
        "--reason", "incident", "--sign-with", mallory.toString()));
    assertThat(CliProcess.run("approve", "--repo", repo, request, "--sign-with", accomplice.toString()).exit()).isZero();
    assertThat(CliProcess.run("approve", "--repo", repo, request, "--sign-with", bob.toString()).exit()).isZero();
    CliProcess.Result ownFile = CliProcess.run("restore", "--insecure-unsigned", "--repo", repo, "--plan", "tier2",
        "--to", to, "--approval", request, "--approvers", own.toString(), "--require-approvals", "1");
    assertThat(ownFile.exit()).isEqualTo(Main.USAGE);
    assertThat(ownFile.err()).contains("names the approvers; --approvers/SAVEPOINT_APPROVERS is not used",
        "valid signatures of 1 approver(s) other than the requester mallory (bob); 2 are required");
    assertThat(tmp.resolve("restored.sql")).doesNotExist();
    assertThat(CliProcess.run("approve", "--repo", repo, request, "--sign-with", carol.toString()).exit()).isZero();
    CliProcess.Result approved = CliProcess.run("restore", "--insecure-unsigned", "--repo", repo, "--plan", "tier2",
        "--to", to, "--approval", request);
    assertThat(approved.exit()).as(approved.err()).isZero();
    assertThat(tmp.resolve("restored.sql")).hasContent("campaign settings");

    // Mallory proposes a version 2 without approvals and signs it: only v1's admins adopt v2.
    assertThat(CliProcess.run("policy", "propose", "--repo", repo, "--require", "restore=0", "--require", "delete=0",
        "--require", "prune=0", "--admins", own.toString(), "--admin-quorum", "1", "--sign-with",
        mallory.toString()).exit()).isZero();
    assertThat(CliProcess.run("policy", "show", "--repo", repo).out()).contains("in force: approval policy version 1",
        "proposed (signed by 0 of the 2 admins of version 1 needed; sign with: savepoint policy sign 2");
    assertThat(CliProcess.run("delete", "--repo", repo, "--plan", "tier2", oldest).exit()).isEqualTo(Main.USAGE);

    // An approved prune deletes exactly the backups its approvers saw.
    String pruneRequest = requestId(CliProcess.run("approve", "--repo", repo, "--request", "--plan", "tier2", "--to",
        "prune", "--backup", String.join(",", doomed), "--sign-with", bob.toString()));
    CliProcess.Result shown = CliProcess.run("approve", "--repo", repo, pruneRequest, "--sign-with", carol.toString());
    assertThat(shown.out()).contains("operation: prune tier2: delete exactly the backups " + String.join(",", doomed));
    CliProcess.Result pruned = CliProcess.run("prune", "--repo", repo, "--plan", "tier2", "--keep-last", "1",
        "--approval", pruneRequest);
    assertThat(pruned.exit()).as(pruned.err()).isZero();
    assertThat(new ObjectMapper().readTree(CliProcess.run("list", "--repo", repo, "--json").out())).hasSize(1);

    // A host that pins other admins refuses every bound operation on this repository (no policy of theirs).
    Path pin = Files.writeString(tmp.resolve("pin"), SshKeys.allowedSigner("mallory", mallory) + "\n");
    CliProcess.Result pinned = CliProcess.run(Map.of("SAVEPOINT_POLICY_ADMINS", pin.toString()), "restore",
        "--insecure-unsigned", "--repo", repo, "--plan", "tier2", "--to", "file:" + tmp.resolve("again.sql"));
    assertThat(pinned.exit()).isEqualTo(Main.USAGE);
    assertThat(pinned.err()).contains("pins approval-policy admins", "holds no policy they adopted");
    assertThat(tmp.resolve("again.sql")).doesNotExist();
  }

  private static String requestId(CliProcess.Result opened) {
    assertThat(opened.exit()).as(opened.err()).isZero();
    return opened.out().split("\\s+")[1].replace(":", "");
  }
}
