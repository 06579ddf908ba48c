package dev.savepoint.cli;

import dev.savepoint.core.Repository;
import dev.savepoint.core.Verifiers;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "repo", description = "Manage the repository itself.", subcommands = RepoCommand.Sign.class)
final class RepoCommand {
  @Command(name = "sign", description = "Adopt a plan's backups written before signing was the default: lists the "
      + "unsigned ones, verified in full with the key (every artifact decrypted and checked); with --backup <id>, "
      + "signs those (a passphrase: with a key derived from it). A backup begun after the repository began signing, "
      + "or one that fails, is named and left unsigned (exit 3).")
  static final class Sign implements Callable<Integer> {
    @Mixin
    RepositoryOptions repo;

    @Mixin
    SecretOptions secretOptions;

    @Option(names = "--plan", required = true, description = "The plan whose backups to sign.")
    String plan;

    @Option(names = "--backup", paramLabel = "<backup-id>", description = "A backup to adopt (repeatable): one you "
        + "recognise as your own (your backup logs, its time and size). Without it, the unsigned backups are listed "
        + "and verified, and nothing is signed.")
    java.util.List<String> backups = new java.util.ArrayList<>();

    @Override
    public Integer call() throws Exception {
      Repository repository = repo.open(secretOptions.secrets());
      if (!repository.authenticated()) {
        throw new dev.savepoint.core.ConfigurationException("repo sign needs the key to sign with: --passphrase-env "
            + "(the plan's passphrase) or --manifest-hmac-env");
      }
      // A human names what is adopted: a writer of the repository can make a planted backup look old.
      boolean dryRun = backups.isEmpty();
      List<Repository.Adoption> outcomes = repository.adopt(plan, dryRun ? null : java.util.Set.copyOf(backups),
          Verifiers.standard(true, secretOptions.secrets()), dryRun);
      if (dryRun) {
        System.out.println("nothing signed: name the backups you recognise with --backup <id> (repeatable)");
      }
      for (Repository.Adoption a : outcomes) {
        System.out.printf("%s  %s%s%n", a.id(), a.outcome(), a.detail().isEmpty() ? "" : " (" + a.detail() + ")");
      }
      long left = outcomes.stream().filter(a -> a.outcome().equals("left unsigned")).count();
      Audit.record(repository, "repo-sign", plan, left == 0 ? "ok" : "failed", java.util.Map.of("signed",
          outcomes.stream().filter(Repository.Adoption::signed).count(), "leftUnsigned", left));
      if (left > 0) {
        throw new Main.VerificationFailedException(left + " backup(s) of plan '" + plan + "' failed verification and "
            + "were left unsigned (listed above): restore them only if you know where they came from");
      }
      return Main.OK;
    }
  }
}
