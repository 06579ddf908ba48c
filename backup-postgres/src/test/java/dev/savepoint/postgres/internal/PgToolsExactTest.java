package dev.savepoint.postgres.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.savepoint.core.ConfigurationException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 35.7: pg_waldump reads only its own major's WAL. Against a PostgreSQL 13 cluster, the 15 client found on this
 * machine read nothing, "no transaction after the target" followed, and the restore replayed past it. The tool must be
 * the server's major, or the restore is refused naming the client to install.
 */
class PgToolsExactTest {
  @TempDir
  Path tmp;

  @Test
  void aToolOfAnotherMajorIsRefusedNamingTheClientToInstall() throws Exception {
    Path base = Files.createDirectories(tmp.resolve("postgresql"));
    fakeTool(base.resolve("15/bin"), "pg_waldump (PostgreSQL) 15.18");
    String found = PgTools.find("pg_waldump", 13, null, base);
    assertThat(found).as("the newest client is the fallback for tools that read older servers")
        .isEqualTo(base.resolve("15/bin/pg_waldump").toString());
    assertThatThrownBy(() -> PgTools.exact(found, "pg_waldump", 13)).isInstanceOf(ConfigurationException.class)
        .hasMessageContaining("pg_waldump of PostgreSQL 13").hasMessageContaining("postgresql-client-13")
        .hasMessageContaining("15.18");
    assertThat(PgTools.exact(found, "pg_waldump", 15)).isEqualTo(found);
    assertThatThrownBy(() -> PgTools.exact(tmp.resolve("none").toString(), "pg_waldump", 15))
        .isInstanceOf(ConfigurationException.class).hasMessageContaining("not found");
  }

  /** A client older than the server (pg_basebackup 15 for a 17 server) is refused naming the client to install. */
  @Test
  void anOlderClientThanTheServerIsRefused() throws Exception {
    Path base = Files.createDirectories(tmp.resolve("pg"));
    fakeTool(base.resolve("15/bin"), "pg_waldump (PostgreSQL) 15.18");
    String tool = PgTools.find("pg_waldump", 15, null, base);
    assertThat(PgTools.majorOf(tool)).isEqualTo(15);
    String real = PgTools.findAtLeast("pg_basebackup", 15);
    assertThat(PgTools.majorOf(real)).isGreaterThanOrEqualTo(15);
    assertThatThrownBy(() -> PgTools.findAtLeast("pg_basebackup", 99)).isInstanceOf(ConfigurationException.class)
        .hasMessageContaining("pg_basebackup of PostgreSQL 99 or newer").hasMessageContaining("postgresql-client-99");
  }

  /**
   * SAVEPOINT_PG_BIN as a list (a server tarball's bin beside the machine's clients): each tool from the directory of
   * the server's major, else the newest newer one, else the machine's search.
   */
  @Test
  void aListOfBinDirectoriesGivesEachToolOfTheRightMajor() throws Exception {
    Path server13 = tmp.resolve("pg13/bin");
    Path clients15 = tmp.resolve("pg15/bin");
    Path clients17 = tmp.resolve("pg17/bin");
    fakeTool(server13, "pg_waldump (PostgreSQL) 13.22");
    fakeTool(clients15, "pg_waldump (PostgreSQL) 15.18");
    fakeTool(clients17, "pg_waldump (PostgreSQL) 17.6");
    String list = server13 + ":" + clients15 + ":" + clients17;
    Path none = tmp.resolve("no-machine-install");
    assertThat(PgTools.find("pg_waldump", 13, list, none)).isEqualTo(server13.resolve("pg_waldump").toString());
    assertThat(PgTools.find("pg_waldump", 15, list, none)).isEqualTo(clients15.resolve("pg_waldump").toString());
    assertThat(PgTools.find("pg_waldump", 16, list, none)).as("no 16: the newest newer one")
        .isEqualTo(clients17.resolve("pg_waldump").toString());
    assertThat(PgTools.find("pg_waldump", 18, list, none)).as("none of 18 or newer listed: the machine's search, "
        + "then the PATH").isEqualTo("pg_waldump");
    assertThat(PgTools.find("pg_ctl", 13, list, none)).as("a tool no listed directory has").isEqualTo("pg_ctl");
    assertThat(PgTools.find("pg_waldump", 13, server13.toString(), none)).as("one directory, the tool in it")
        .isEqualTo(server13.resolve("pg_waldump").toString());
    assertThat(PgTools.find("pg_ctl", 13, server13.toString(), none)).as("one directory without the tool: the "
        + "machine's search, not a path that cannot run").isEqualTo("pg_ctl");
  }

  /** The real client on this machine says its own major. */
  @Test
  void theInstalledWaldumpIsAcceptedForItsOwnMajor() throws Exception {
    String tool = PgTools.find("pg_waldump", 15);
    assertThat(PgTools.exact(tool, "pg_waldump", 15)).isEqualTo(tool);
  }

  private static void fakeTool(Path bin, String version) throws Exception {
    Files.createDirectories(bin);
    Path tool = Files.writeString(bin.resolve("pg_waldump"), "#!/bin/sh\necho '" + version + "'\n");
    Files.setPosixFilePermissions(tool, PosixFilePermissions.fromString("rwxr-xr-x"));
  }
}
