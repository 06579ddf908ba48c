package dev.savepoint.core.sources;

import dev.savepoint.core.ArtifactWriter;
import dev.savepoint.core.Source;
import dev.savepoint.core.SourceException;
import dev.savepoint.core.internal.Tar;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Backs up a directory tree as one streaming tar artifact ({@value #ARTIFACT}) keeping relative paths,
 * permissions, modification times and symbolic links (not followed). With a gzip transform the stored object
 * is a plain {@code .tar.gz} that {@code tar -xzf} extracts.
 */
public final class DirectorySource implements Source {
  public static final String ARTIFACT = "files.tar";

  private final Path root;

  public DirectorySource(Path root) {
    this.root = root.toAbsolutePath().normalize();
  }

  @Override
  public String type() {
    return "directory";
  }

  @Override
  public Map<String, Object> backup(ArtifactWriter writer) throws IOException {
    if (!Files.isDirectory(root)) {
      throw new SourceException("source directory " + root + " does not exist or is not a directory");
    }
    Tar.Stats stats;
    try (OutputStream out = writer.open(ARTIFACT)) {
      stats = Tar.write(root, out);
    }
    Map<String, Object> facts = new LinkedHashMap<>();
    facts.put("path", root.toString());
    facts.put("files", stats.files());
    facts.put("directories", stats.directories());
    facts.put("symlinks", stats.symlinks());
    facts.put("fileBytes", stats.bytes());
    // The folder itself: what a restore gives the restored folder (mode; owner and group when run as root).
    facts.put("rootMode", String.format("%04o", Tar.mode(root)));
    Tar.owner(root).ifPresent(ids -> {
      facts.put("rootUid", ids[0]);
      facts.put("rootGid", ids[1]);
    });
    if (stats.escapedNames() > 0) {
      facts.put("escapedNames", stats.escapedNames());
    }
    return facts;
  }
}
