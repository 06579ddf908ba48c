package dev.savepoint.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.util.List;
import org.junit.jupiter.api.Test;

class SignedManifestTest {
  final InMemoryStore store = new InMemoryStore();

  Manifest backup(Repository repo) throws Exception {
    return BackupPlan.builder("db").source(StreamSource.of("a", ByteSource.wrap(new byte[500]))).repository(repo)
        .build().run().manifest();
  }

  void tamper(Manifest m) throws Exception {
    String key = "db/" + m.id() + "/manifest.json";
    String json;
    try (InputStream in = store.get(key)) {
      json = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    store.put(key, ByteSource.wrap(json.replace("\"rawBytes\" : 500", "\"rawBytes\" : 501").getBytes(StandardCharsets.UTF_8)));
  }

  @Test
  void hmacSignedManifestsRefuseModification() throws Exception {
    Repository repo = new Repository(store).signedWith(ManifestSigner.hmacSha256(new byte[32]));
    Manifest m = backup(repo);
    assertThat(repo.list("db")).hasSize(1);
    assertThat(store.stat("db/" + m.id() + "/manifest.sig")).isPresent();
    tamper(m);
    // A damaged backup affects only itself: listings skip it and say why; reading it by id fails.
    assertThat(repo.list("db")).isEmpty();
    assertThat(repo.damaged("db")).singleElement().satisfies(d ->
        assertThat(d.reason()).contains("fails its hmac-sha256 signature check"));
    assertThatThrownBy(() -> repo.manifest("db", m.id())).isInstanceOf(IntegrityException.class)
        .hasMessageContaining("fails its hmac-sha256 signature check");
    assertThatThrownBy(() -> repo.select("db", BackupSelector.latest())).isInstanceOf(IntegrityException.class)
        .hasMessageContaining("damaged backups were skipped").hasMessageContaining(m.id());
    Repository otherKey = new Repository(store).signedWith(ManifestSigner.hmacSha256("x".repeat(32).getBytes()));
    assertThat(otherKey.list("db")).isEmpty();
  }

  @Test
  void ed25519VerifiesWithThePublicKeyAloneAndRefusesUnsigned() throws Exception {
    KeyPair keys = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
    Repository signing = new Repository(store).signedWith(ManifestSigner.ed25519(keys.getPrivate(), keys.getPublic()));
    Manifest m = backup(signing);
    Repository verifying = new Repository(store).signedWith(ManifestSigner.ed25519(null, keys.getPublic()));
    assertThat(verifying.list("db")).extracting(Manifest::id).containsExactly(m.id());

    Manifest unsigned = backup(new Repository(store));
    assertThat(verifying.list("db")).extracting(Manifest::id).containsExactly(m.id());
    assertThat(verifying.damaged("db")).singleElement().satisfies(d -> {
      assertThat(d.id()).isEqualTo(unsigned.id());
      assertThat(d.reason()).contains("is not signed");
    });
    assertThat(unsigned).isNotNull();
    tamper(m);
    assertThatThrownBy(() -> verifying.manifest("db", m.id())).isInstanceOf(IntegrityException.class);
    assertThat(List.of(m)).hasSize(1);
  }
}
