package dev.savepoint.cli;

import dev.savepoint.core.Repository;
import java.io.IOException;
import picocli.CommandLine.Option;

/** {@code --repo <uri>}, shared by every command. */
final class RepositoryOptions {
  @Option(names = "--repo", required = true, paramLabel = "<uri>",
      description = "Repository: file:/path (s3:// and gs:// come with their modules).")
  String repo;

  Repository open() throws IOException {
    return Uris.repository(repo);
  }
}
