package dev.savepoint.core;

import static dev.savepoint.core.ControlTest.sign;
import static dev.savepoint.core.ControlTest.signer;
import static dev.savepoint.core.ControlTest.sshKey;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.savepoint.core.security.ApprovalPolicy;
import dev.savepoint.core.security.Approvers;
import dev.savepoint.core.security.RestoreApprovals;
import dev.savepoint.core.store.ByteSource;
import dev.savepoint.core.store.InMemoryStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The approval policy: adopted only by its admins' keys, a chain a writer of the repository cannot extend. */
class ApprovalPolicyTest {
  @TempDir
  Path tmp;

  final InMemoryStore store = new InMemoryStore();

  private ApprovalPolicy.Document doc(int version, List<String> admins, int quorum, Map<String, Integer> approvals,
      List<String> approvers) {
    return new ApprovalPolicy.Document(version, admins, quorum, approvers, approvals, Instant.parse(
        "2026-12-07T00:00:00Z"));
  }

  @Test
  void aVersionIsInForceOnlyWhenEnoughOfTheRightAdminsSignedIt() throws Exception {
    Path ann = sshKey(tmp, "ann");
    Path ben = sshKey(tmp, "ben");
    Path mallory = sshKey(tmp, "mallory");
    Path bob = sshKey(tmp, "bob");
    List<String> admins = List.of(signer("ann", ann), signer("ben", ben));
    List<String> approvers = List.of(signer("bob", bob));
    ApprovalPolicy policy = new ApprovalPolicy(store, Optional.empty());
    assertThat(policy.state().inForce()).isEmpty();

    ApprovalPolicy.Document v1 = doc(1, admins, 2, Map.of("restore", 2, "prune", 1), approvers);
    policy.propose(v1);
    policy.sign(v1, sign(ann, ApprovalPolicy.NAMESPACE, v1.canonical()));
    // One admin of two, a stranger, and an admin's signature made for restores: not adopted.
    policy.sign(v1, sign(mallory, ApprovalPolicy.NAMESPACE, v1.canonical()));
    policy.sign(v1, sign(ben, Approvers.NAMESPACE, v1.canonical()));
    ApprovalPolicy.State pending = policy.state();
    assertThat(pending.inForce()).isEmpty();
    assertThat(pending.proposals()).singleElement().satisfies(p -> {
      assertThat(p.signedBy()).containsExactly("ann");
      assertThat(p.needed()).isEqualTo(2);
    });
    policy.sign(v1, sign(ben, ApprovalPolicy.NAMESPACE, v1.canonical()));
    assertThat(policy.inForce()).contains(v1);
    assertThat(v1.required(ApprovalPolicy.Operation.RESTORE)).isEqualTo(2);
    assertThat(v1.required(ApprovalPolicy.Operation.DELETE)).isZero();

    // Mallory, who can write the repository, proposes version 2 (no approvals, herself as admin) and signs it:
    // only v1's admins adopt v2, so v1 stays in force, and her version blocks nothing after it either.
    ApprovalPolicy.Document v2 = doc(2, List.of(signer("mallory", mallory)), 1, Map.of(), List.of());
    policy.propose(v2);
    policy.sign(v2, sign(mallory, ApprovalPolicy.NAMESPACE, v2.canonical()));
    assertThat(policy.inForce()).contains(v1);
    assertThatThrownBy(() -> policy.propose(doc(3, admins, 2, Map.of(), approvers)))
        .isInstanceOf(ApprovalException.class).hasMessageContaining("next policy version is 2");

    // Her version 2 squats no number: the admins' own version 2 stands beside it and is adopted.
    ApprovalPolicy.Document v2b = doc(2, admins, 2, Map.of("restore", 2, "prune", 1, "delete", 1), approvers);
    policy.propose(v2b);
    policy.sign(v2b, sign(ann, ApprovalPolicy.NAMESPACE, v2b.canonical()));
    policy.sign(v2b, sign(ben, ApprovalPolicy.NAMESPACE, v2b.canonical()));
    assertThat(policy.inForce()).contains(v2b);
    assertThat(policy.state().proposals()).isEmpty();

    // Non-canonical bytes are no policy at all; an edited version loses its signatures (and its name no longer
    // matches its digest): not in force, and neither is anything after it — on a host without a pin that means no
    // policy: pins are the anchor.
    String v1Text = new String(v1.canonical(), java.nio.charset.StandardCharsets.UTF_8);
    String v1Key = ApprovalPolicy.PREFIX + "v000001-" + v1.sha256() + ".json";
    store.put(v1Key, ByteSource.wrap((v1Text + " ").getBytes()));
    assertThat(policy.candidates(1)).isEmpty();
    store.put(v1Key, ByteSource.wrap(v1Text.replace("\"restore\":2", "\"restore\":0").getBytes()));
    assertThat(policy.candidates(1)).isEmpty();
    assertThat(policy.state().inForce()).isEmpty();
  }

  @Test
  void aRequestCannotPaintLinesOnTheApproversTerminal() {
    RestoreApprovals.Request r = new RestoreApprovals.Request("0b9f1a52-5a8e-4a4e-9d3e-8f1d2b7c6a11", "mallory", "db",
        "b1", "abc", "file:/tmp/staging.sql", "drill\n  to:        file:/tmp/scratch.sql\u001b[1A\r", Instant.EPOCH,
        Instant.EPOCH);
    String shown = RestoreApprovals.describe(r);
    assertThat(shown.lines().filter(l -> l.strip().startsWith("to:"))).hasSize(1);
    assertThat(shown).doesNotContain("\u001b", "\r").contains("drill\\u000a  to:");
  }

  @Test
  void aPinnedHostRefusesWithoutAPolicyOfThePinnedAdminsAndTheyAdoptTheFirstVersion() throws Exception {
    Path ann = sshKey(tmp, "ann");
    Path mallory = sshKey(tmp, "mallory");
    Path pin = Files.writeString(tmp.resolve("policy-admins"), signer("ann", ann) + "\n");
    ApprovalPolicy pinned = new ApprovalPolicy(store, Optional.of(pin));
    assertThatThrownBy(pinned::inForce).isInstanceOf(ApprovalException.class)
        .hasMessageContaining("pins approval-policy admins");

    // Unpinned, a writer who adopts a version 1 of their own beside the admins' contests the chain: refused, not
    // decided by whose digest sorts first.
    InMemoryStore shared = new InMemoryStore();
    ApprovalPolicy unpinned = new ApprovalPolicy(shared, Optional.empty());
    ApprovalPolicy.Document admins = doc(1, List.of(signer("ann", ann)), 1, Map.of(), List.of());
    ApprovalPolicy.Document writers = doc(1, List.of(signer("mallory", mallory)), 1, Map.of(), List.of());
    unpinned.propose(admins);
    unpinned.sign(admins, sign(ann, ApprovalPolicy.NAMESPACE, admins.canonical()));
    assertThat(unpinned.inForce()).contains(admins);
    shared.put(ApprovalPolicy.PREFIX + "v000001-" + writers.sha256() + ".json",
        ByteSource.wrap(writers.canonical()));
    unpinned.sign(writers, sign(mallory, ApprovalPolicy.NAMESPACE, writers.canonical()));
    assertThatThrownBy(unpinned::inForce).isInstanceOf(ApprovalException.class).hasMessageContaining("contested");

    // A version 1 naming and signed by a writer's own key: in force on a host without a pin, never on this one.
    ApprovalPolicy.Document forged = doc(1, List.of(signer("mallory", mallory)), 1, Map.of(), List.of());
    pinned.propose(forged);
    pinned.sign(forged, sign(mallory, ApprovalPolicy.NAMESPACE, forged.canonical()));
    assertThat(new ApprovalPolicy(store, Optional.empty()).inForce()).contains(forged);
    assertThatThrownBy(pinned::inForce).isInstanceOf(ApprovalException.class);
    pinned.sign(forged, sign(ann, ApprovalPolicy.NAMESPACE, forged.canonical()));
    assertThat(pinned.inForce()).contains(forged); // the pinned admin read it and adopted it
  }

  @Test
  void documentsThatCannotWorkAreRefused() {
    assertThatThrownBy(() -> doc(1, List.of("ann ssh-ed25519 AAAA"), 2, Map.of(), List.of()))
        .hasMessageContaining("admin quorum of 2 needs at least that many admins");
    assertThatThrownBy(() -> doc(1, List.of("ann ssh-ed25519 AAAA"), 1, Map.of("restore", 1), List.of()))
        .hasMessageContaining("names the approvers");
    assertThatThrownBy(() -> doc(1, List.of("ann ssh-ed25519 AAAA"), 1, Map.of("restor", 1), List.of("b k")))
        .hasMessageContaining("no operation 'restor'");
  }
}
