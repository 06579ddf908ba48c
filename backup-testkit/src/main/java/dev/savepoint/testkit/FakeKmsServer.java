package dev.savepoint.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * A protocol-level double of AWS KMS: a local HTTP server that speaks the KMS JSON 1.1 protocol for
 * {@code GenerateDataKey}, {@code Encrypt} and {@code Decrypt}, so the real AWS SDK client can be tested
 * without AWS. It is not KMS: keys are random AES keys created on first use of a key id, requests are not
 * authenticated, and ciphertext blobs are {@code keyId 0x00 iv aes-gcm(plaintext)}. Unknown ciphertext gives
 * KMS's {@code InvalidCiphertextException}.
 */
public final class FakeKmsServer implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final HttpServer server;
  private final Map<String, byte[]> keys = new ConcurrentHashMap<>();
  private final SecureRandom random = new SecureRandom();
  private final AtomicInteger requests = new AtomicInteger();

  public FakeKmsServer() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/", this::handle);
    server.start();
  }

  public URI endpoint() {
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
  }

  /** How many KMS calls were answered. */
  public int requests() {
    return requests.get();
  }

  private void handle(HttpExchange ex) throws IOException {
    requests.incrementAndGet();
    String target = ex.getRequestHeaders().getFirst("X-Amz-Target");
    JsonNode body = JSON.readTree(ex.getRequestBody().readAllBytes());
    try {
      Map<String, Object> response = switch (target == null ? "" : target) {
        case "TrentService.GenerateDataKey" -> {
          byte[] plaintext = new byte[body.path("NumberOfBytes").asInt(32)];
          random.nextBytes(plaintext);
          String keyId = body.path("KeyId").asText();
          yield Map.of("KeyId", arn(keyId), "Plaintext", b64(plaintext), "CiphertextBlob", b64(encrypt(keyId, plaintext)));
        }
        case "TrentService.Encrypt" -> {
          String keyId = body.path("KeyId").asText();
          yield Map.of("KeyId", arn(keyId), "CiphertextBlob",
              b64(encrypt(keyId, Base64.getDecoder().decode(body.path("Plaintext").asText()))));
        }
        case "TrentService.Decrypt" -> {
          byte[] blob = Base64.getDecoder().decode(body.path("CiphertextBlob").asText());
          int zero = indexOfZero(blob);
          String keyId = new String(blob, 0, zero, StandardCharsets.UTF_8);
          yield Map.of("KeyId", arn(keyId), "Plaintext", b64(decrypt(keyId, blob, zero + 1)),
              "EncryptionAlgorithm", "SYMMETRIC_DEFAULT");
        }
        default -> throw new IllegalArgumentException("UnsupportedOperationException");
      };
      send(ex, 200, response);
    } catch (GeneralSecurityException | RuntimeException e) {
      send(ex, 400, Map.of("__type", "InvalidCiphertextException", "message", "the double could not process: " + e));
    }
  }

  private static int indexOfZero(byte[] b) {
    for (int i = 0; i < b.length; i++) {
      if (b[i] == 0) {
        return i;
      }
    }
    throw new IllegalArgumentException("not a ciphertext blob of this double");
  }

  private String arn(String keyId) {
    return keyId.startsWith("arn:") ? keyId : "arn:aws:kms:us-east-1:000000000000:key/" + keyId;
  }

  private byte[] key(String keyId) {
    return keys.computeIfAbsent(keyId, k -> {
      byte[] key = new byte[32];
      random.nextBytes(key);
      return key;
    });
  }

  private byte[] encrypt(String keyId, byte[] plaintext) throws GeneralSecurityException {
    byte[] iv = new byte[12];
    random.nextBytes(iv);
    Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
    c.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key(keyId), "AES"), new GCMParameterSpec(128, iv));
    byte[] ct = c.doFinal(plaintext);
    byte[] id = keyId.getBytes(StandardCharsets.UTF_8);
    return ByteBuffer.allocate(id.length + 1 + iv.length + ct.length).put(id).put((byte) 0).put(iv).put(ct).array();
  }

  private byte[] decrypt(String keyId, byte[] blob, int offset) throws GeneralSecurityException {
    if (!keys.containsKey(keyId)) {
      throw new GeneralSecurityException("unknown key " + keyId);
    }
    Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
    c.init(Cipher.DECRYPT_MODE, new SecretKeySpec(key(keyId), "AES"), new GCMParameterSpec(128, blob, offset, 12));
    return c.doFinal(blob, offset + 12, blob.length - offset - 12);
  }

  private static String b64(byte[] b) {
    return Base64.getEncoder().encodeToString(b);
  }

  private static void send(HttpExchange ex, int status, Map<String, Object> body) throws IOException {
    byte[] bytes = JSON.writeValueAsBytes(body);
    ex.getResponseHeaders().add("Content-Type", "application/x-amz-json-1.1");
    ex.sendResponseHeaders(status, bytes.length);
    ex.getResponseBody().write(bytes);
    ex.close();
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
