package dev.savepoint.cli;

import dev.savepoint.core.ConfigurationException;
import dev.savepoint.core.Repository;
import dev.savepoint.core.Secrets;
import dev.savepoint.core.Transform;
import java.io.IOException;
import java.util.List;
import picocli.CommandLine.Option;

/**
 * {@code --repo <uri>} and how what it holds is authenticated, shared by every command. A repository is hostile
 * until proven otherwise: commands that decode, restore or write backups need a key that authenticates them (a
 * passphrase, from which the signing key is derived, or {@code --manifest-hmac-env}) or the explicit
 * {@code --insecure-unsigned}.
 */
final class RepositoryOptions {
  @Option(names = "--repo", required = true, paramLabel = "<uri>",
      description = "Repository: file:/path, s3://bucket/prefix?region=..&endpoint=..&pathStyle=true (credentials "
          + "from the AWS default chain) or gs://bucket/prefix (Application Default Credentials or credentialsFile=).")
  String repo;

  @picocli.CommandLine.Mixin
  TrustOptions trust;

  /**
   * The existing repository, for commands that only list or manage what it holds: reading commands never create
   * one, so a mistyped {@code --repo} is an error (exit 2) rather than an empty, green listing.
   */
  Repository open() throws IOException {
    return open(Secrets.none());
  }

  /** The existing repository with {@code secrets} as its keys and requirements (see {@link Repository#withSecrets}). */
  Repository open(Secrets secrets) throws IOException {
    if (repo.startsWith("file:") && !java.nio.file.Files.isDirectory(Uris.path(repo))) {
      throw new ConfigurationException("repository " + repo + " does not exist (check --repo; "
          + "only backup creates a repository)");
    }
    return build(secrets);
  }

  /**
   * As {@link #open(Secrets)}, for a command that trusts what it reads (restore, drill, verify, the WAL): refused
   * (exit 2) when nothing would authenticate it, unless {@code --insecure-unsigned} says so.
   */
  Repository openAuthenticated(Secrets secrets) throws IOException {
    return requireAuthentication(open(secrets));
  }

  /**
   * The repository, created if it is a new {@code file:} one, for a command that writes backups through
   * {@code transforms}: their keys (a passphrase) sign what it writes.
   */
  Repository openForWriting(List<Transform> transforms) throws IOException {
    return requireAuthentication(build(dev.savepoint.core.Transforms.secretsOf(transforms)));
  }

  private Repository build(Secrets secrets) throws IOException {
    return trust.apply(Uris.repository(repo), secrets);
  }

  private Repository requireAuthentication(Repository repository) throws ConfigurationException {
    return trust.requireAuthentication(repository);
  }

  /** Names each top-level folder of {@code repository} that is no plan: every command leaves it alone, and says so. */
  static void warnStrays(Repository repository) throws IOException {
    for (String stray : repository.strays()) {
      System.err.printf("savepoint: warning: ignoring folder '%s' in %s: not a plan (plan names are letters, digits, "
          + "'.', '_' and '-')%n", stray, repository.describe());
    }
  }

  /** Refuses (exit 2) a plan the repository does not hold: a typo must not make a command succeed doing nothing. */
  static void requirePlan(Repository repository, String plan) throws IOException {
    if (!repository.plans().contains(plan)) {
      throw new IllegalArgumentException("repository " + repository.describe() + " has no plan '" + plan
          + "'; its plans: " + String.join(", ", repository.plans()));
    }
  }
}
