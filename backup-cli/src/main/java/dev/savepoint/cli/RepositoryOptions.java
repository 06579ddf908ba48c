package dev.savepoint.cli;

import dev.savepoint.core.Repository;
import java.io.IOException;
import picocli.CommandLine.Option;

/** {@code --repo <uri>}, shared by every command. */
final class RepositoryOptions {
  @Option(names = "--repo", required = true, paramLabel = "<uri>",
      description = "Repository: file:/path or s3://bucket/prefix?region=..&endpoint=..&pathStyle=true "
          + "(credentials from the AWS default chain).")
  String repo;

  Repository open() throws IOException {
    return Uris.repository(repo);
  }
}
