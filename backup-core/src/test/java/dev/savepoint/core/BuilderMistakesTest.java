package dev.savepoint.core;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.savepoint.core.sources.StreamSource;
import dev.savepoint.core.store.ByteSource;
import dev.savepoint.core.store.InMemoryStore;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Issue 40.9: nonsense is refused when the plan is built, with one clear message each. */
class BuilderMistakesTest {
  /** A stand-in for an encryption stage (the real ones live in backup-crypto). */
  private static final Transform CIPHER = new Transform() {
    @Override
    public TransformSpec spec() {
      return new TransformSpec("test-cipher", Map.of());
    }

    @Override
    public OutputStream wrap(OutputStream downstream) {
      return downstream;
    }

    @Override
    public InputStream unwrap(InputStream stored) {
      return stored;
    }
  };

  private static BackupPlan.Builder plan() {
    return BackupPlan.builder("p").source(StreamSource.of("a", ByteSource.wrap(new byte[1])))
        .repository(new Repository(new InMemoryStore()));
  }

  @Test
  void compressingAfterEncryptingIsRefused() {
    assertThatThrownBy(() -> plan().transform(CIPHER).transform(Transforms.zstd()).build())
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("compresses (zstd) after encrypting");
    assertThatCode(() -> plan().transform(Transforms.zstd()).transform(CIPHER).build()).doesNotThrowAnyException();
  }

  @Test
  void aRpoMustBePositive() {
    assertThatThrownBy(() -> plan().rpo(Duration.ofMinutes(-5))).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("RPO must be positive");
    assertThatThrownBy(() -> plan().rpo(Duration.ZERO)).isInstanceOf(IllegalArgumentException.class);
  }
}
