package dev.savepoint.core.internal;

import dev.savepoint.core.security.ManifestSigner;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;

/** Signing keys derived from a secret for one repository ({@link ManifestSigner#derived}), each derived once. */
public final class DerivedKeys {
  /** By SHA-256 of (repository id, secret): the derivation is slow on purpose, and a process asks many times. */
  private static final Map<String, ManifestSigner> SIGNERS = new ConcurrentHashMap<>();

  private DerivedKeys() {}

  public static ManifestSigner signer(char[] secret, String repositoryId) {
    byte[] salt = ("savepoint-manifest-key\n" + repositoryId).getBytes(StandardCharsets.UTF_8);
    String cacheKey;
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      sha.update(salt);
      sha.update((byte) 0);
      sha.update(new String(secret).getBytes(StandardCharsets.UTF_8));
      cacheKey = HexFormat.of().formatHex(sha.digest());
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
    return SIGNERS.computeIfAbsent(cacheKey, k -> {
      PBEKeySpec spec = new PBEKeySpec(secret, salt, ManifestSigner.DERIVATION_ITERATIONS, 256);
      try {
        byte[] key = SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256").generateSecret(spec).getEncoded();
        ManifestSigner signer = ManifestSigner.hmacSha256(key);
        Arrays.fill(key, (byte) 0);
        return signer;
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException("PBKDF2-HMAC-SHA256 is not available: " + e.getMessage(), e);
      } finally {
        spec.clearPassword();
      }
    });
  }
}
