package dev.savepoint.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.savepoint.core.sources.StreamSource;
import dev.savepoint.core.store.ByteSource;
import dev.savepoint.core.store.InMemoryStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SecretsTest {
  @TempDir
  Path tmp;

  @Test
  void filesEnvironmentAndMapsCombine() throws Exception {
    Files.writeString(tmp.resolve("openpgp.passphrase"), "from a mounted secret\n");
    char[] given = "from the map".toCharArray();
    Secrets secrets = Secrets.fromFiles(tmp)
        .orElse(Secrets.fromEnvironment(Map.of("env.secret", "PATH", "unset.secret", "SAVEPOINT_SURELY_UNSET_42")))
        .orElse(Secrets.of(Map.of("map.secret", given, "openpgp.passphrase", "shadowed".toCharArray())));
    given[0] = 'X'; // the map was copied
    assertThat(secrets.get("openpgp.passphrase")).get().isEqualTo("from a mounted secret".toCharArray());
    assertThat(secrets.get("env.secret")).get().isEqualTo(System.getenv("PATH").toCharArray());
    assertThat(secrets.get("map.secret")).get().isEqualTo("from the map".toCharArray());
    assertThat(secrets.get("unset.secret")).isEmpty();
    assertThat(secrets.get("nowhere")).isEmpty();
    char[] first = secrets.get("map.secret").orElseThrow();
    java.util.Arrays.fill(first, '\0');
    assertThat(secrets.get("map.secret")).as("each call returns a fresh array").get().isEqualTo("from the map".toCharArray());
    assertThatThrownBy(() -> Secrets.fromFiles(tmp).get("../etc/passwd")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cannot name a file");
  }

  @Test
  void restoreResultsAreTyped() {
    Repository.RestoreResult r = new Repository.RestoreResult("id", "db", 10, java.time.Duration.ZERO,
        Map.of("safetyBackupId", "s-1", "tablesChecked", 7, "rowsChecked", 1234L));
    assertThat(r.safetyBackupId()).contains("s-1");
    assertThat(r.tablesChecked()).hasValue(7);
    assertThat(r.rowsChecked()).hasValue(1234);
    assertThat(new Repository.RestoreResult("id", "dir", 1, java.time.Duration.ZERO, Map.of()).safetyBackupId()).isEmpty();
  }

  @Test
  void aPlanWithoutRepositoryOrSourceSaysWhichCallIsMissing() {
    assertThatThrownBy(() -> BackupPlan.builder("trpg").source(StreamSource.of("a", ByteSource.wrap(new byte[1])))
        .build()).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("plan 'trpg' has no repository: call .repository(new Repository(store)) on "
            + "BackupPlan.builder(\"trpg\") before build()");
    assertThatThrownBy(() -> BackupPlan.builder("trpg").repository(new Repository(new InMemoryStore())).build())
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("has no source: call .source(...)");
  }
}
