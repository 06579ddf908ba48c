package dev.savepoint.core.security;

import dev.savepoint.core.Repository;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.jspecify.annotations.Nullable;

/**
 * Signs manifests so that a modified manifest (a changed digest, key or transform parameter) is refused. The
 * signature is stored as {@code manifest.sig} next to {@code manifest.json}, written just before it. A
 * {@link Repository} with a signer refuses unsigned and wrongly signed manifests.
 */
public interface ManifestSigner {
  /** {@code hmac-sha256} or {@code ed25519}, recorded in the signature file. */
  String algorithm();

  byte[] sign(byte[] manifest);

  boolean verify(byte[] manifest, byte[] signature);

  /** False for a signer that can only verify (an Ed25519 public key). */
  default boolean canSign() {
    return true;
  }

  /** HMAC-SHA256 with a shared secret key (at least 32 bytes); every party can sign and verify. */
  static ManifestSigner hmacSha256(byte[] key) {
    if (key.length < 32) {
      throw new IllegalArgumentException("HMAC key must be at least 32 bytes");
    }
    byte[] k = key.clone();
    return new ManifestSigner() {
      @Override
      public String algorithm() {
        return "hmac-sha256";
      }

      @Override
      public byte[] sign(byte[] manifest) {
        try {
          Mac mac = Mac.getInstance("HmacSHA256");
          mac.init(new SecretKeySpec(k, "HmacSHA256"));
          return mac.doFinal(manifest);
        } catch (GeneralSecurityException e) {
          throw new IllegalStateException(e);
        }
      }

      @Override
      public boolean verify(byte[] manifest, byte[] signature) {
        return MessageDigest.isEqual(sign(manifest), signature);
      }

      @Override
      public String toString() {
        return "ManifestSigner[hmac-sha256]";
      }
    };
  }

  /** PBKDF2-HMAC-SHA256 iterations of {@link #derived}: as many as the OpenPGP passphrase check value uses. */
  int DERIVATION_ITERATIONS = 600_000;

  /**
   * HMAC-SHA256 under a key derived from {@code secret} (a plan's encryption passphrase) for the repository
   * {@code repositoryId}: PBKDF2-HMAC-SHA256 with {@value #DERIVATION_ITERATIONS} iterations, salted with the
   * repository's id, so two repositories sharing a passphrase still have different keys and a manifest copied from
   * one to the other is refused. Derived once per process for each pair.
   */
  static ManifestSigner derived(char[] secret, String repositoryId) {
    return dev.savepoint.core.internal.DerivedKeys.signer(secret, repositoryId);
  }

  /**
   * Ed25519: backups sign with the private key; restore hosts need only the public key ({@code privateKey}
   * may be null there, and signing then fails).
   */
  static ManifestSigner ed25519(@Nullable PrivateKey privateKey, PublicKey publicKey) {
    return new ManifestSigner() {
      @Override
      public String algorithm() {
        return "ed25519";
      }

      @Override
      public byte[] sign(byte[] manifest) {
        if (privateKey == null) {
          throw new IllegalStateException("this Ed25519 signer has only a public key: it can verify, not sign");
        }
        try {
          Signature s = Signature.getInstance("Ed25519");
          s.initSign(privateKey);
          s.update(manifest);
          return s.sign();
        } catch (GeneralSecurityException e) {
          throw new IllegalStateException(e);
        }
      }

      @Override
      public boolean canSign() {
        return privateKey != null;
      }

      @Override
      public boolean verify(byte[] manifest, byte[] signature) {
        try {
          Signature s = Signature.getInstance("Ed25519");
          s.initVerify(publicKey);
          s.update(manifest);
          return s.verify(signature);
        } catch (GeneralSecurityException e) {
          return false;
        }
      }

      @Override
      public String toString() {
        return "ManifestSigner[ed25519]";
      }
    };
  }
}
