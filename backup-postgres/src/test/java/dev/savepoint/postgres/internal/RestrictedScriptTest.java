package dev.savepoint.postgres.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** What psql is fed: our restriction first, the dump's own dropped, every other byte as it was. */
class RestrictedScriptTest {
  static String feed(String script, int pieceSize) throws Exception {
    ByteArrayOutputStream psql = new ByteArrayOutputStream();
    byte[] bytes = script.getBytes(StandardCharsets.UTF_8);
    try (OutputStream out = RestrictedScript.feeding(PgTools.find("psql", 15), psql)) {
      for (int i = 0; i < bytes.length; i += pieceSize) {
        out.write(bytes, i, Math.min(pieceSize, bytes.length - i));
      }
    }
    return psql.toString(StandardCharsets.UTF_8);
  }

  static final String DUMP = "--\n-- PostgreSQL database dump\n--\n\n\\restrict AbC123\n\n-- Dumped from 15\n"
      + "SET statement_timeout = 0;\nCOPY public.t (v) FROM stdin;\n\\restrict looks like data\n\\N\n\\.\n\n"
      + "\\unrestrict AbC123\n\n--\n-- PostgreSQL database dump complete\n--\n";

  @Test
  void theDumpsOwnRestrictionIsReplacedByOursAndNothingElseChanges() throws Exception {
    for (int piece : new int[] {1, 3, 7, 64, 1 << 16}) {
      String fed = feed(DUMP, piece);
      assertThat(fed).as("pieces of %d", piece).startsWith("\\restrict ").matches("(?s)\\\\restrict [0-9a-f]{48}\n.*");
      assertThat(fed.substring(fed.indexOf('\n') + 1)).as("pieces of %d", piece)
          .isEqualTo(DUMP.replace("\\restrict AbC123\n", "").replace("\\unrestrict AbC123\n", ""));
    }
  }

  @Test
  void aScriptThatUnrestrictsWithAnotherKeyOrRunsAShellKeepsThoseLines() throws Exception {
    String forged = "\\restrict X\nSELECT 1;\n\\unrestrict Y\n\\! touch /tmp/x\n";
    String fed = feed(forged, 5);
    // psql refuses both: the key it was restricted with is ours, which nothing in the script knows.
    assertThat(fed).contains("\\unrestrict Y\n", "\\! touch /tmp/x\n").doesNotContain("\\restrict X");
    assertThat(fed.lines().filter(l -> l.startsWith("\\restrict ")).count()).isEqualTo(1);
  }

  @Test
  void psqlWithoutRestrictIsKnownByVersion() {
    assertThat(RestrictedScript.restrictable("psql (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)")).isTrue();
    assertThat(RestrictedScript.restrictable("psql (PostgreSQL) 15.13")).isFalse();
    assertThat(RestrictedScript.restrictable("psql (PostgreSQL) 13.22")).isTrue();
    assertThat(RestrictedScript.restrictable("psql (PostgreSQL) 14.18")).isFalse();
    assertThat(RestrictedScript.restrictable("psql (PostgreSQL) 17.6")).isTrue();
    assertThat(RestrictedScript.restrictable("psql (PostgreSQL) 18.0")).isTrue();
    assertThat(RestrictedScript.restrictable("psql (PostgreSQL) 12.22")).isFalse();
    assertThat(RestrictedScript.restrictable("something else")).isFalse();
  }
}
