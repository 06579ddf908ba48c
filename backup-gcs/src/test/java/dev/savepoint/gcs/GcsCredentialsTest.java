package dev.savepoint.gcs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.cloud.ServiceOptions;
import com.google.cloud.storage.StorageOptions;
import dev.savepoint.core.ConfigurationException;
import dev.savepoint.core.StoreException;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A service-account key given as a file: its private key and key id never reach messages or stack traces,
 * whether the file is malformed or the service cannot be reached (no GCS endpoint exists here; the token
 * endpoint and storage host point at a closed port on 127.0.0.1).
 */
class GcsCredentialsTest {
  @TempDir
  Path tmp;

  Path keyFile(String keyId, String privateKeyPem) throws Exception {
    Path file = tmp.resolve("sa-" + System.nanoTime() + ".json");
    Files.writeString(file, """
        {"type": "service_account", "project_id": "trpg", "private_key_id": "%s",
         "private_key": "%s", "client_email": "savepoint@trpg.iam.gserviceaccount.com",
         "client_id": "1", "token_uri": "http://127.0.0.1:1/token"}
        """.formatted(keyId, privateKeyPem.replace("\n", "\\n")));
    return file;
  }

  static String pem() throws Exception {
    var kp = KeyPairGenerator.getInstance("RSA");
    kp.initialize(2048);
    return "-----BEGIN PRIVATE KEY-----\n"
        + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(kp.generateKeyPair().getPrivate().getEncoded())
        + "\n-----END PRIVATE KEY-----\n";
  }

  static String stackText(Throwable e) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    e.printStackTrace(new PrintStream(out));
    return out.toString();
  }

  @Test
  void unreachableServiceErrorsCarryNoKeyMaterial() throws Exception {
    String keyId = "canary-key-id-" + System.nanoTime();
    String pem = pem();
    String keyBody = pem.lines().skip(2).findFirst().orElseThrow();
    Path file = keyFile(keyId, pem);
    var storage = StorageOptions.newBuilder().setProjectId("trpg").setHost("http://127.0.0.1:1")
        .setRetrySettings(ServiceOptions.getNoRetrySettings()).setCredentials(GcsStore.serviceAccount(file))
        .build().getService();
    GcsStore store = GcsStore.builder(storage, "trpg-backups").build();
    assertThatThrownBy(() -> store.list("")).isInstanceOf(StoreException.class)
        .satisfies(e -> assertThat(stackText(e)).doesNotContain(keyId).doesNotContain(keyBody));
    assertThat(store.describe()).doesNotContain(keyId);
  }

  @Test
  void malformedKeyFileIsAConfigurationErrorThatDoesNotQuoteIt() throws Exception {
    String canary = "canary-private-" + System.nanoTime();
    Path file = keyFile("id-1", "-----BEGIN PRIVATE KEY-----\n" + canary + "\n-----END PRIVATE KEY-----\n");
    assertThatThrownBy(() -> GcsStore.serviceAccount(file)).isInstanceOf(ConfigurationException.class)
        .hasMessageContaining(file.toString())
        .satisfies(e -> assertThat(stackText(e)).doesNotContain(canary));
    assertThatThrownBy(() -> GcsStore.fromUri("gs://b/p?credentialsFile=" + tmp.resolve("missing.json")))
        .isInstanceOf(ConfigurationException.class).hasMessageContaining("does not exist");
  }
}
