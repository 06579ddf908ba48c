package dev.savepoint.crypto;

import dev.savepoint.core.CryptoException;
import dev.savepoint.core.TransientStoreException;
import java.io.IOException;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.model.DataKeySpec;
import software.amazon.awssdk.services.kms.model.GenerateDataKeyResponse;
import software.amazon.awssdk.services.kms.model.KmsException;

/**
 * Data keys from AWS KMS: {@code GenerateDataKey} per backup, {@code Decrypt} on restore, {@code Encrypt} to
 * re-wrap on rotation. The manifest holds only the KMS ciphertext blob and the key id, so restoring needs
 * {@code kms:Decrypt} on the key and nothing else secret.
 */
public final class AwsKmsKeyEncryptionKey implements KeyEncryptionKey {
  private final KmsClient kms;
  private final String keyId;

  /** The key {@code keyId} through a KMS client configured from the environment (region, credentials, endpoint). */
  static AwsKmsKeyEncryptionKey fromEnvironment(String keyId) {
    return new AwsKmsKeyEncryptionKey(KmsClient.create(), keyId);
  }

  public AwsKmsKeyEncryptionKey(KmsClient kms, String keyId) {
    this.kms = kms;
    this.keyId = keyId;
  }

  @Override
  public String kind() {
    return "aws-kms";
  }

  @Override
  public String keyId() {
    return keyId;
  }

  @Override
  public DataKey generateDataKey() throws IOException {
    try {
      GenerateDataKeyResponse r = kms.generateDataKey(b -> b.keyId(keyId).keySpec(DataKeySpec.AES_256));
      return new DataKey(r.plaintext().asByteArray(), r.ciphertextBlob().asByteArray());
    } catch (SdkException e) {
      throw map("GenerateDataKey", e);
    }
  }

  @Override
  public byte[] unwrap(byte[] wrapped) throws IOException {
    try {
      return kms.decrypt(b -> b.keyId(keyId).ciphertextBlob(SdkBytes.fromByteArray(wrapped))).plaintext().asByteArray();
    } catch (SdkException e) {
      throw map("Decrypt", e);
    }
  }

  @Override
  public byte[] wrap(byte[] plaintext) throws IOException {
    try {
      return kms.encrypt(b -> b.keyId(keyId).plaintext(SdkBytes.fromByteArray(plaintext))).ciphertextBlob().asByteArray();
    } catch (SdkException e) {
      throw map("Encrypt", e);
    }
  }

  private IOException map(String operation, SdkException e) {
    if (e instanceof SdkClientException) {
      return new TransientStoreException("AWS KMS " + operation + " with key " + keyId + " failed: " + e.getMessage(), e);
    }
    String code = e instanceof KmsException k && k.awsErrorDetails() != null ? k.awsErrorDetails().errorCode() : "";
    return new CryptoException("AWS KMS " + operation + " with key " + keyId + " failed (" + code
        + "): check the key id and the kms:" + operation + " permission", e);
  }

  @Override
  public String toString() {
    return "AwsKmsKeyEncryptionKey[" + keyId + "]";
  }
}
