package dev.savepoint.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.savepoint.core.sources.DirectorySource;
import dev.savepoint.core.sources.DirectoryTarget;
import dev.savepoint.core.store.FilesystemStore;
import dev.savepoint.core.store.InMemoryStore;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a developer embedding Savepoint plausibly gets wrong, from the adopter trial: each a clear, typed error. */
class ApiMisuseTest {
  @TempDir
  Path tmp;

  @Test
  void aRepositoryRootThatIsAFileIsAConfigurationError() throws Exception {
    Path file = Files.writeString(tmp.resolve("not-a-dir"), "x");
    assertThatThrownBy(() -> new FilesystemStore(file)).isInstanceOf(ConfigurationException.class)
        .hasMessageContaining("repository root " + file + " is not a directory");
  }

  @Test
  void aPlanNameIsCheckedWhenTheBuilderIsMadeAndNullsAreNamed() {
    assertThatThrownBy(() -> BackupPlan.builder("team/app")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("team/app");
    assertThatThrownBy(() -> BackupPlan.builder(null)).isInstanceOf(NullPointerException.class).hasMessage("name");
    assertThatThrownBy(() -> BackupPlan.builder("app").transform(null)).hasMessage("transform");
    assertThatThrownBy(() -> BackupPlan.builder("app").source(null)).hasMessage("source");
  }

  @Test
  void restoringADirectoryOntoAFileSaysItIsAFile() throws Exception {
    Path data = Files.createDirectories(tmp.resolve("data"));
    Files.writeString(data.resolve("a.txt"), "hello");
    Repository repo = new Repository(new InMemoryStore());
    Manifest m = BackupPlan.builder("files").source(new DirectorySource(data)).repository(repo).build().run()
        .manifest();
    Path file = Files.writeString(tmp.resolve("target"), "x");
    assertThatThrownBy(() -> repo.restore(m, DirectoryTarget.of(file))).isInstanceOf(TargetNotEmptyException.class)
        .hasMessageContaining("is a file, not a directory");
    assertThat(Files.readString(file)).isEqualTo("x");
  }
}
