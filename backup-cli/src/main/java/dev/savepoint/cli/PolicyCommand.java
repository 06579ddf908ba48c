package dev.savepoint.cli;

import dev.savepoint.core.ApprovalException;
import dev.savepoint.core.Repository;
import dev.savepoint.core.security.ApprovalPolicy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "policy", description = "The repository's approval policy: which operations (restore, "
    + "restore-pitr, restore-provider, delete, prune, recover) need how many approvals, and who approves — decided "
    + "by policy admins with their SSH keys, not by the operator's flags. A version is in force once enough admins "
    + "of the version before it signed it (version 1: its own admins, or the admins a host pins in "
    + ApprovalPolicy.PIN_FILE + ").",
    subcommands = {PolicyCommand.Show.class, PolicyCommand.Propose.class, PolicyCommand.Sign.class})
final class PolicyCommand {
  @Command(name = "show", description = "The policy in force and a proposal awaiting signatures.")
  static final class Show implements Callable<Integer> {
    @Mixin
    RepositoryOptions repo;

    @Override
    public Integer call() throws Exception {
      ApprovalPolicy.State state = new ApprovalPolicy(repo.open().store()).state();
      state.pin().ifPresent(pin -> System.out.println("this host pins the policy admins in " + pin));
      System.out.println(state.inForce().map(d -> "in force: " + d.describe()).orElse("no approval policy in force: "
          + (state.pin().isPresent() ? "this host refuses every operation a policy would bind"
              : "operations need approvals only where --require-approvals asks")));
      state.proposals().forEach(p -> System.out.println(proposed(p, state)));
      if (!state.contested().isEmpty()) {
        System.out.println("CONTESTED: " + state.contested().size() + " proposals of version "
            + state.contested().get(0).version() + " are each adopted by their signers; bound operations are refused "
            + "until admins delete (under _savepoint/policy/) the ones they did not adopt");
      }
      return Main.OK;
    }
  }

  /** A proposal as admins read it: who signed so far, out of whom, and how many are needed. */
  static String proposed(ApprovalPolicy.Proposal p, ApprovalPolicy.State state) {
    String signers = state.inForce().map(d -> "admins of version " + d.version())
        .orElse(state.pin().isPresent() ? "pinned admins" : "its own admins");
    return "proposed (signed by " + p.signedBy().size() + " of the " + p.needed() + " " + signers + " needed"
        + (p.signedBy().isEmpty() ? "" : ": " + String.join(", ", p.signedBy())) + "; sign with: savepoint policy sign "
        + p.document().version() + " --sha256 " + p.document().sha256().substring(0, 12) + "): "
        + p.document().describe();
  }

  /** The one proposal of {@code version} {@code sha256} (a prefix) names, or the only one. */
  static ApprovalPolicy.Document proposal(ApprovalPolicy policy, int version, String sha256) throws Exception {
    List<ApprovalPolicy.Document> found = policy.candidates(version).stream()
        .filter(d -> sha256 == null || d.sha256().startsWith(sha256)).toList();
    if (found.size() != 1) {
      throw new ApprovalException(found.isEmpty() ? "no policy version " + version + (sha256 == null ? "" : " with "
          + "SHA-256 " + sha256) + " (savepoint policy show)" : "policy version " + version + " has "
          + found.size() + " proposals: name one with --sha256 (" + String.join(", ", found.stream()
              .map(d -> d.sha256().substring(0, 12)).toList()) + ")");
    }
    return found.get(0);
  }

  @Command(name = "propose", description = "Store the next version of the policy (the one in force with what the "
      + "options change) and, with --sign-with, sign it as one of its admins. Admins sign it with 'policy sign'.")
  static final class Propose implements Callable<Integer> {
    @Mixin
    RepositoryOptions repo;

    @Option(names = "--admins", paramLabel = "<allowed_signers>", description = "The policy admins' SSH keys "
        + "(OpenSSH allowed_signers); default: those of the version in force.")
    Path admins;

    @Option(names = "--admin-quorum", paramLabel = "<N>", description = "How many admins adopt the next version "
        + "(default: that of the version in force, else 2, at most the number of admins).")
    Integer adminQuorum;

    @Option(names = "--approvers", paramLabel = "<allowed_signers>", description = "The approvers' SSH keys; "
        + "default: those of the version in force.")
    Path approvers;

    @Option(names = "--require", paramLabel = "<operation>=<N>", description = "Approvals an operation needs "
        + "(repeatable): restore, restore-pitr, restore-provider, delete, prune, recover.")
    Map<String, Integer> require = new TreeMap<>();

    @Option(names = "--sign-with", paramLabel = "<ssh-private-key>", description = "Sign the proposal as an admin.")
    Path signWith;

    @Override
    public Integer call() throws Exception {
      Repository repository = repo.open();
      ApprovalPolicy policy = new ApprovalPolicy(repository.store());
      Optional<ApprovalPolicy.Document> current = policy.state().inForce();
      List<String> adminLines = admins != null ? lines(admins)
          : current.map(ApprovalPolicy.Document::admins).orElseThrow(() -> new IllegalArgumentException(
              "the first policy names its admins: --admins <allowed_signers>"));
      List<String> approverLines = approvers != null ? lines(approvers)
          : current.map(ApprovalPolicy.Document::approvers).orElse(List.of());
      Map<String, Integer> approvals = new TreeMap<>(current.map(ApprovalPolicy.Document::approvals).orElse(Map.of()));
      approvals.putAll(require);
      int quorum = adminQuorum != null ? adminQuorum : current.map(ApprovalPolicy.Document::adminQuorum)
          .orElse(Math.min(2, (int) adminLines.stream().filter(l -> !l.isBlank() && !l.startsWith("#")).count()));
      ApprovalPolicy.Document doc = new ApprovalPolicy.Document(current.map(d -> d.version() + 1).orElse(1), adminLines, quorum,
          approverLines, approvals, Instant.now());
      policy.propose(doc);
      System.out.println("proposed " + doc.describe());
      if (signWith != null) {
        policy.sign(doc, ApproveCommand.sshSign(signWith, ApprovalPolicy.NAMESPACE, doc.canonical()));
      }
      Audit.record(repository, "policy-propose", "version " + doc.version(), "ok", Map.of("sha256", doc.sha256()));
      System.out.printf("admins sign it with: savepoint policy sign --repo %s %d --sha256 %s --sign-with "
          + "~/.ssh/id_ed25519%n", repo.repo, doc.version(), doc.sha256().substring(0, 12));
      return Main.OK;
    }

    private static List<String> lines(Path file) throws java.io.IOException {
      return Files.readAllLines(file).stream().map(String::strip).filter(l -> !l.isEmpty() && !l.startsWith("#"))
          .toList();
    }
  }

  @Command(name = "sign", description = "Sign a proposed version as an admin, after reading every field it holds.")
  static final class Sign implements Callable<Integer> {
    @Mixin
    RepositoryOptions repo;

    @Parameters(index = "0", paramLabel = "<version>")
    int version;

    @Option(names = "--sign-with", paramLabel = "<ssh-private-key>", description = "Sign with this key "
        + "(ssh-keygen -Y sign -n " + ApprovalPolicy.NAMESPACE + ").")
    Path signWith;

    @Option(names = "--signature", paramLabel = "<file>", description = "Store a signature made elsewhere over the "
        + "bytes --show prints.")
    Path signature;

    @Option(names = "--sha256", paramLabel = "<prefix>", description = "Which proposal of the version, when there "
        + "are several (as policy show and propose print it).")
    String sha256;

    @Option(names = "--show", description = "Print the version's document, the exact bytes admins sign.")
    boolean show;

    @Override
    public Integer call() throws Exception {
      Repository repository = repo.open();
      ApprovalPolicy policy = new ApprovalPolicy(repository.store());
      ApprovalPolicy.Document doc = proposal(policy, version, sha256);
      System.err.println((show ? "" : "signing ") + doc.describe());
      if (show) {
        System.out.write(doc.canonical());
        System.out.flush();
        return Main.OK;
      }
      String armored = signWith != null ? ApproveCommand.sshSign(signWith, ApprovalPolicy.NAMESPACE, doc.canonical())
          : signature != null ? Files.readString(signature) : null;
      if (armored == null) {
        throw new IllegalArgumentException("sign with --sign-with <ssh key> or --signature <file>");
      }
      policy.sign(doc, armored);
      Audit.record(repository, "policy-sign", "version " + version, "ok", Map.of("sha256", doc.sha256()));
      ApprovalPolicy.State state = policy.state();
      System.out.println(state.inForce().filter(d -> d.equals(doc)).isPresent()
          ? "policy version " + version + " is in force"
          : state.proposals().stream().filter(p -> p.document().equals(doc)).findFirst()
              .map(p -> "stored; " + proposed(p, state)).orElse("stored; version " + version + " is not next in the "
                  + "chain (savepoint policy show)"));
      return Main.OK;
    }
  }
}
