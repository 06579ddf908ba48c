package dev.savepoint.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.savepoint.core.ArtifactRecord;
import dev.savepoint.core.IntegrityException;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.RestoreException;
import dev.savepoint.core.TransformSpec;
import java.io.IOException;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Load errors of encrypted backups reach logs, the audit log and Slack without the rows PostgreSQL quotes. */
class RowDataRedactionTest {
  static Manifest manifest(String transform) {
    ArtifactRecord a = new ArtifactRecord("database.sql", "p/x/database.sql", 1, 1, "a", "b",
        List.of(new TransformSpec(transform, Map.of())));
    return new Manifest(1, "x", "p", null, Map.of(), Instant.now(), Instant.now(),
        new Manifest.SourceInfo("postgresql", Map.of()), List.of(a));
  }

  @Test
  void detailsAndCopyLinesAreWithheldForEncryptedBackupsOnly() {
    String psql = "psql failed (exit 3) loading backup x: psql:<stdin>:40: ERROR:  duplicate key value violates "
        + "unique constraint \"users_email_key\"\nDETAIL:  Key (email)=(canary@example.com) already exists.\n"
        + "CONTEXT:  COPY users, line 3: \"3\tcanary@example.com\tAlice\"";
    IOException redacted = PostgresTarget.withoutRowData(new RestoreException(psql), manifest("openpgp"));
    assertThat(redacted).isInstanceOf(RestoreException.class);
    assertThat(redacted.getMessage()).doesNotContain("canary").contains("users_email_key", "details withheld");
    String jdbc = "ERROR: insert or update on table \"t\" violates foreign key constraint \"f\"  Detail: Key (a)=(secret-42) is not present";
    assertThat(PostgresTarget.withoutRowData(new IntegrityException(jdbc), manifest("openpgp-envelope")).getMessage())
        .doesNotContain("secret-42").contains("violates foreign key constraint");
    assertThat(PostgresTarget.withoutRowData(new RestoreException(psql), manifest("zstd")).getMessage())
        .as("unencrypted backups keep the details that help an operator").contains("canary@example.com");
  }
}
