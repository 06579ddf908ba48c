package dev.savepoint.core;

import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Who may approve restores: the people and their SSH keys, read from an OpenSSH {@code allowed_signers} file
 * that lives outside the repository (whoever can write the repository must not be able to add an approver).
 * An approval is an SSH signature ({@code ssh-keygen -Y sign -n savepoint-restore}) over a request's canonical
 * document, made with the approver's own key on their own machine; {@link #signer} verifies one and says whose it
 * is. Keys: {@code ssh-ed25519}. Immutable and thread-safe.
 */
public final class Approvers {
  /** The SSH signature namespace of restore approvals. */
  public static final String NAMESPACE = "savepoint-restore";
  private static final byte[] MAGIC = "SSHSIG".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] ED25519_X509_PREFIX = HexFormat.of().parseHex("302a300506032b6570032100");

  /** Principals by the base64 of their public key blob. */
  private final Map<String, String> principalByKey;

  private Approvers(Map<String, String> principalByKey) {
    this.principalByKey = Map.copyOf(principalByKey);
  }

  /**
   * Reads an OpenSSH {@code allowed_signers} file: {@code principal[,principal...] [options] ssh-ed25519 <key>
   * [comment]} per line. A key listed for several principals counts as the first; other key types are refused.
   */
  public static Approvers fromAllowedSigners(Path file) throws IOException {
    if (!Files.isRegularFile(file)) {
      throw new ConfigurationException("approvers file " + file + " does not exist");
    }
    Map<String, String> keys = new LinkedHashMap<>();
    int lineNumber = 0;
    for (String line : Files.readAllLines(file)) {
      lineNumber++;
      String text = line.strip();
      if (text.isEmpty() || text.startsWith("#")) {
        continue;
      }
      String[] tokens = text.split("\\s+");
      int type = -1;
      for (int i = 1; i < tokens.length - 1; i++) {
        if (tokens[i].startsWith("ssh-") || tokens[i].startsWith("ecdsa-") || tokens[i].startsWith("sk-")) {
          type = i;
          break;
        }
      }
      if (type < 0) {
        throw new ConfigurationException("approvers file " + file + " line " + lineNumber + ": no public key");
      }
      if (!tokens[type].equals("ssh-ed25519")) {
        throw new ConfigurationException("approvers file " + file + " line " + lineNumber + ": key type "
            + tokens[type] + " is not supported; use ssh-ed25519 keys (ssh-keygen -t ed25519)");
      }
      keys.putIfAbsent(tokens[type + 1], tokens[0].split(",")[0]);
    }
    if (keys.isEmpty()) {
      throw new ConfigurationException("approvers file " + file + " lists no keys");
    }
    return new Approvers(keys);
  }

  /**
   * The principal whose listed key made {@code armoredSignature} (an {@code -----BEGIN SSH SIGNATURE-----}
   * block) over {@code document} in the {@value #NAMESPACE} namespace; empty if it is not a valid signature by a
   * listed key (unlisted key, other namespace, other document, malformed).
   */
  public Optional<String> signer(byte[] document, String armoredSignature) {
    try {
      String body = armoredSignature.replaceAll("-----(BEGIN|END) SSH SIGNATURE-----", "").replaceAll("\\s", "");
      DataInputStream in = new DataInputStream(new ByteArrayInputStream(Base64.getDecoder().decode(body)));
      byte[] magic = in.readNBytes(6);
      if (!java.util.Arrays.equals(magic, MAGIC) || in.readInt() != 1) {
        return Optional.empty();
      }
      byte[] publicKeyBlob = string(in);
      String namespace = new String(string(in), StandardCharsets.UTF_8);
      byte[] reserved = string(in);
      String hashAlgorithm = new String(string(in), StandardCharsets.UTF_8);
      byte[] signatureBlob = string(in);
      String principal = principalByKey.get(Base64.getEncoder().encodeToString(publicKeyBlob));
      if (principal == null || !namespace.equals(NAMESPACE)) {
        return Optional.empty();
      }
      DataInputStream key = new DataInputStream(new ByteArrayInputStream(publicKeyBlob));
      DataInputStream sig = new DataInputStream(new ByteArrayInputStream(signatureBlob));
      if (!"ssh-ed25519".equals(new String(string(key), StandardCharsets.US_ASCII))
          || !"ssh-ed25519".equals(new String(string(sig), StandardCharsets.US_ASCII))) {
        return Optional.empty();
      }
      byte[] digest = MessageDigest.getInstance(switch (hashAlgorithm) {
        case "sha512" -> "SHA-512";
        case "sha256" -> "SHA-256";
        default -> throw new GeneralSecurityException("hash " + hashAlgorithm);
      }).digest(document);
      java.io.ByteArrayOutputStream signed = new java.io.ByteArrayOutputStream();
      java.io.DataOutputStream out = new java.io.DataOutputStream(signed);
      out.write(MAGIC);
      writeString(out, namespace.getBytes(StandardCharsets.UTF_8));
      writeString(out, reserved);
      writeString(out, hashAlgorithm.getBytes(StandardCharsets.UTF_8));
      writeString(out, digest);
      byte[] raw = string(key);
      byte[] x509 = new byte[ED25519_X509_PREFIX.length + raw.length];
      System.arraycopy(ED25519_X509_PREFIX, 0, x509, 0, ED25519_X509_PREFIX.length);
      System.arraycopy(raw, 0, x509, ED25519_X509_PREFIX.length, raw.length);
      PublicKey publicKey = KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(x509));
      Signature verifier = Signature.getInstance("Ed25519");
      verifier.initVerify(publicKey);
      verifier.update(signed.toByteArray());
      return verifier.verify(string(sig)) ? Optional.of(principal) : Optional.empty();
    } catch (IOException | GeneralSecurityException | IllegalArgumentException e) {
      return Optional.empty();
    }
  }

  /** The principals this file lists. */
  public List<String> principals() {
    return new ArrayList<>(new java.util.TreeSet<>(principalByKey.values()));
  }

  private static byte[] string(DataInputStream in) throws IOException {
    int length = in.readInt();
    if (length < 0 || length > 1 << 16) {
      throw new IOException("bad length " + length);
    }
    byte[] b = in.readNBytes(length);
    if (b.length != length) {
      throw new IOException("truncated");
    }
    return b;
  }

  private static void writeString(java.io.DataOutputStream out, byte[] b) throws IOException {
    out.writeInt(b.length);
    out.write(b);
  }
}
