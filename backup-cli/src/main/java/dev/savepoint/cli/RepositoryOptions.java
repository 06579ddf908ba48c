package dev.savepoint.cli;

import dev.savepoint.core.ManifestSigner;
import dev.savepoint.core.Repository;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import picocli.CommandLine.Option;

/** {@code --repo <uri>} and manifest signing, shared by every command. */
final class RepositoryOptions {
  @Option(names = "--repo", required = true, paramLabel = "<uri>",
      description = "Repository: file:/path, s3://bucket/prefix?region=..&endpoint=..&pathStyle=true (credentials "
          + "from the AWS default chain) or gs://bucket/prefix (Application Default Credentials or credentialsFile=).")
  String repo;

  @Option(names = "--manifest-hmac-env", paramLabel = "<VAR>",
      description = "Sign manifests with HMAC-SHA256 using the key (at least 32 bytes) in this environment "
          + "variable, and refuse manifests whose signature is missing or wrong (exit 3).")
  String hmacEnv;

  /**
   * The existing repository: reading commands never create one, so a mistyped {@code --repo} is an error (exit
   * 2) rather than an empty, green listing.
   */
  Repository open() throws IOException {
    if (repo.startsWith("file:") && !java.nio.file.Files.isDirectory(Uris.path(repo))) {
      throw new dev.savepoint.core.ConfigurationException("repository " + repo + " does not exist (check --repo; "
          + "only backup creates a repository)");
    }
    return openOrCreate();
  }

  /** The repository, created if it is a new {@code file:} one (for {@code backup}). */
  Repository openOrCreate() throws IOException {
    Repository repository = Uris.repository(repo);
    if (hmacEnv != null) {
      byte[] key = new String(SecretOptions.env(hmacEnv)).getBytes(StandardCharsets.UTF_8);
      if (key.length < 32) {
        throw new dev.savepoint.core.ConfigurationException("the HMAC key in " + hmacEnv + " must be at least 32 bytes");
      }
      repository = repository.signedWith(ManifestSigner.hmacSha256(key));
    }
    return repository;
  }
}
