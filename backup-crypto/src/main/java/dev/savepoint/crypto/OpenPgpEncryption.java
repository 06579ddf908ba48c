package dev.savepoint.crypto;

import dev.savepoint.core.CryptoException;
import dev.savepoint.core.IntegrityException;
import dev.savepoint.core.Secrets;
import dev.savepoint.core.Transform;
import dev.savepoint.core.TransformProvider;
import dev.savepoint.core.TransformSpec;
import java.io.FilterInputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Date;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import org.bouncycastle.bcpg.HashAlgorithmTags;
import org.bouncycastle.bcpg.SymmetricKeyAlgorithmTags;
import org.bouncycastle.bcpg.sig.KeyFlags;
import org.bouncycastle.openpgp.PGPCompressedData;
import org.bouncycastle.openpgp.PGPEncryptedData;
import org.bouncycastle.openpgp.PGPEncryptedDataGenerator;
import org.bouncycastle.openpgp.PGPEncryptedDataList;
import org.bouncycastle.openpgp.PGPException;
import org.bouncycastle.openpgp.PGPLiteralData;
import org.bouncycastle.openpgp.PGPLiteralDataGenerator;
import org.bouncycastle.openpgp.PGPMarker;
import org.bouncycastle.openpgp.PGPPBEEncryptedData;
import org.bouncycastle.openpgp.PGPPrivateKey;
import org.bouncycastle.openpgp.PGPPublicKey;
import org.bouncycastle.openpgp.PGPPublicKeyEncryptedData;
import org.bouncycastle.openpgp.PGPPublicKeyRing;
import org.bouncycastle.openpgp.PGPSecretKey;
import org.bouncycastle.openpgp.PGPSecretKeyRing;
import org.bouncycastle.openpgp.PGPSecretKeyRingCollection;
import org.bouncycastle.openpgp.PGPSignature;
import org.bouncycastle.openpgp.PGPUtil;
import org.bouncycastle.openpgp.bc.BcPGPObjectFactory;
import org.bouncycastle.openpgp.bc.BcPGPPublicKeyRingCollection;
import org.bouncycastle.openpgp.bc.BcPGPSecretKeyRingCollection;
import org.bouncycastle.openpgp.operator.bc.BcPBESecretKeyDecryptorBuilder;
import org.bouncycastle.openpgp.operator.bc.BcPGPDigestCalculatorProvider;
import org.bouncycastle.openpgp.operator.bc.BcPublicKeyDataDecryptorFactory;
import org.bouncycastle.openpgp.operator.bc.BcPublicKeyKeyEncryptionMethodGenerator;
import org.bouncycastle.openpgp.operator.jcajce.JcaPGPDigestCalculatorProviderBuilder;
import org.bouncycastle.openpgp.operator.jcajce.JcePBEDataDecryptorFactoryBuilder;
import org.bouncycastle.openpgp.operator.jcajce.JcePBEKeyEncryptionMethodGenerator;
import org.bouncycastle.openpgp.operator.jcajce.JcePGPDataEncryptorBuilder;
import org.jspecify.annotations.Nullable;

/**
 * OpenPGP encryption as a streaming {@link Transform}: AES-256, integrity-protected (SEIPD v1 with MDC, which
 * gpg 2.2 reads; no v6 AEAD packets), no compression (compression runs earlier in the chain). Encrypts to a
 * passphrase (iterated and salted S2K with SHA-256, as {@code gpg --symmetric --cipher-algo AES256}) and/or to
 * public keys exported from gpg (RSA, Curve25519) — e.g. the operations key and an offline escrow key. Every
 * artifact stays a standard OpenPGP message: {@code gpg --decrypt} reads it.
 *
 * <p>Decryption accepts what gpg writes too (compressed or not, armored or binary), checks the integrity
 * packet after the last byte and refuses messages without one. A wrong passphrase or missing key is a
 * {@link CryptoException}; a tampered or truncated message an {@link IntegrityException}. Nothing secret is
 * recorded in the {@link #spec()} or shown by {@link #toString()}. For a passphrase the spec records a check
 * value (PBKDF2-HMAC-SHA256, {@value #CHECK_ITERATIONS} iterations, salted) — no cheaper to attack than the S2K
 * of the stored messages themselves — so that an incremental backup notices a changed passphrase and stores
 * its objects again under the new one ({@link #sameKeysAs}).
 */
// Over 500 lines: the encrypting and decrypting streams of BouncyCastle, the passphrase check values and the key
// reading share the same key material and settings; splitting them would spread the secrets over more classes.
public final class OpenPgpEncryption implements Transform {
  static final String NAME = "openpgp";
  /** Secret names used at restore time (see {@link Secrets}). */
  public static final String PASSPHRASE = "openpgp.passphrase";
  public static final String SECRET_KEY_FILE = "openpgp.secret-key-file";
  public static final String SECRET_KEY_PASSPHRASE = "openpgp.secret-key-passphrase";

  private static final int BUFFER = 1 << 16;
  private static final int S2K_COUNT = 0xff; // the strongest iteration count gpg understands (65011712 bytes)

  static final int CHECK_ITERATIONS = 600_000;
  private static final String CHECK = "passphraseCheck";

  private final char @Nullable [] passphrase;
  private final byte[] checkSalt = new byte[16];
  /** Check values of the passphrase by stored check text's salt (own salt included): computed once each. */
  private final Map<String, String> checks = new java.util.concurrent.ConcurrentHashMap<>();
  private final List<PGPPublicKey> recipients;
  private final @Nullable PGPSecretKeyRingCollection secretKeys;
  private final char @Nullable [] secretKeyPassphrase;
  /** The passphrase's message key, derived once; {@code null} unless the passphrase is the only method. */
  private final @Nullable KeyDerivedOnce passphraseOnly;
  /** Decrypts passphrase messages, deriving each salt's key once; {@code null} without a passphrase. */
  private final @Nullable DerivedKeys derivedKeys;

  private OpenPgpEncryption(Builder b) {
    this.passphrase = b.passphrase;
    new SecureRandom().nextBytes(checkSalt);
    this.recipients = List.copyOf(b.recipients);
    this.secretKeys = b.secretKeys;
    this.secretKeyPassphrase = b.secretKeyPassphrase;
    try {
      this.passphraseOnly = passphrase != null && recipients.isEmpty() ? new KeyDerivedOnce(passphrase) : null;
      this.derivedKeys = passphrase == null ? null : new DerivedKeys(passphrase);
    } catch (PGPException e) {
      throw new IllegalStateException("OpenPGP key derivation is not available: " + e.getMessage(), e);
    }
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Encrypts (and decrypts) with {@code passphrase}. */
  public static OpenPgpEncryption passphrase(char[] passphrase) {
    return builder().passphrase(passphrase).build();
  }

  @Override
  public TransformSpec spec() {
    Map<String, String> params = new LinkedHashMap<>();
    params.put("cipher", "AES256");
    params.put("integrity", "MDC");
    params.put("passphrase", Boolean.toString(passphrase != null));
    if (passphrase != null) {
      params.put(CHECK, passphraseCheck(checkSalt));
    }
    if (!recipients.isEmpty()) {
      params.put("recipients", recipients.stream().map(k -> HexFormat.of().formatHex(k.getFingerprint()))
          .collect(Collectors.joining(",")));
    }
    return new TransformSpec(NAME, params);
  }

  /** The passphrase, if this encrypts to one: the repository derives the plan's signing key from it. */
  @Override
  public Secrets secrets() {
    if (passphrase == null) {
      return Secrets.none();
    }
    return Secrets.of(Map.of(PASSPHRASE, passphrase));
  }

  /** The same recipients and settings, and the same passphrase (by the earlier spec's check value). */
  @Override
  public boolean sameKeysAs(TransformSpec earlier) {
    Map<String, String> now = new java.util.TreeMap<>(spec().params());
    Map<String, String> then = new java.util.TreeMap<>(earlier.params());
    String check = then.remove(CHECK);
    now.remove(CHECK);
    if (!NAME.equals(earlier.name()) || !now.equals(then)) {
      return false;
    }
    if (passphrase == null) {
      return true;
    }
    return matchesCheck(check).orElse(false); // no usable check value: store the objects again
  }

  /**
   * Whether this passphrase is the one a recorded check value was computed from; empty if {@code check} is absent,
   * written before check values, or not by Savepoint.
   */
  Optional<Boolean> matchesCheck(@Nullable String check) {
    if (check == null) {
      return Optional.empty();
    }
    String[] parts = check.split(":");
    if (passphrase == null || parts.length != 4 || !parts[0].equals("pbkdf2-sha256")
        || !parts[1].equals(String.valueOf(CHECK_ITERATIONS))) {
      return Optional.empty();
    }
    byte[] salt;
    try {
      salt = java.util.Base64.getDecoder().decode(parts[2]);
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
    return Optional.of(java.security.MessageDigest.isEqual(passphraseCheck(salt).getBytes(
        java.nio.charset.StandardCharsets.UTF_8), check.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
  }

  private String passphraseCheck(byte[] salt) {
    return checks.computeIfAbsent(java.util.Base64.getEncoder().encodeToString(salt), encodedSalt -> {
      try {
        byte[] value = javax.crypto.SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256").generateSecret(
            new javax.crypto.spec.PBEKeySpec(passphrase, salt, CHECK_ITERATIONS, 256)).getEncoded();
        return "pbkdf2-sha256:" + CHECK_ITERATIONS + ":" + encodedSalt + ":"
            + java.util.Base64.getEncoder().encodeToString(value);
      } catch (java.security.GeneralSecurityException e) {
        throw new IllegalStateException(e);
      }
    });
  }

  @Override
  public OutputStream wrap(OutputStream downstream) throws IOException {
    if (passphrase == null && recipients.isEmpty()) {
      throw new IllegalStateException("OpenPGP encryption needs a passphrase or at least one recipient");
    }
    // The JCE (SunJCE) data encryptor uses the JVM's AES and SHA-1 intrinsics: about 4x the throughput of
    // BouncyCastle's lightweight AES. Key wrapping stays on the lightweight API (it is tiny).
    PGPEncryptedDataGenerator generator = new PGPEncryptedDataGenerator(
        new JcePGPDataEncryptorBuilder(SymmetricKeyAlgorithmTags.AES_256).setWithIntegrityPacket(true)
            .setSecureRandom(new SecureRandom()));
    try {
      if (passphraseOnly != null) {
        generator.addMethod(passphraseOnly);
      } else if (passphrase != null) {
        generator.addMethod(new JcePBEKeyEncryptionMethodGenerator(passphrase, s2kDigest(), S2K_COUNT)
            .setSecureRandom(new SecureRandom()));
      }
      for (PGPPublicKey key : recipients) {
        generator.addMethod(new BcPublicKeyKeyEncryptionMethodGenerator(key));
      }
      OutputStream encrypted = generator.open(downstream, new byte[BUFFER]);
      OutputStream literal = new PGPLiteralDataGenerator().open(encrypted, PGPLiteralData.BINARY, "", new Date(0),
          new byte[BUFFER]);
      return new FilterOutputStream(literal) {
        private boolean closed;

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
          out.write(b, off, len);
        }

        @Override
        public void close() throws IOException {
          if (closed) {
            return;
          }
          closed = true;
          try {
            literal.close();
            encrypted.close();
          } finally {
            downstream.close();
          }
        }
      };
    } catch (PGPException e) {
      throw new CryptoException("cannot start OpenPGP encryption: " + e.getMessage(), e);
    }
  }

  @Override
  public InputStream unwrap(InputStream stored) throws IOException {
    try {
      return parse(stored);
    } catch (IOException | RuntimeException e) {
      throw damaged(e);
    }
  }

  /**
   * BouncyCastle reports a damaged message as a plain {@code IOException} ({@code EOFException} when it is cut
   * short) or a runtime exception: those become {@link IntegrityException}s; the store's own errors pass unchanged.
   */
  private static IOException damaged(Exception e) {
    if (e instanceof dev.savepoint.core.SavepointException s) {
      return s;
    }
    boolean parser = e instanceof RuntimeException || e instanceof java.io.EOFException
        || e.getStackTrace().length > 0 && e.getStackTrace()[0].getClassName().startsWith("org.bouncycastle");
    return parser ? new IntegrityException("damaged OpenPGP message: " + e.getMessage(), e) : (IOException) e;
  }

  private InputStream parse(InputStream stored) throws IOException {
    BcPGPObjectFactory factory = new BcPGPObjectFactory(PGPUtil.getDecoderStream(stored));
    Object o = factory.nextObject();
    while (o instanceof PGPMarker) {
      o = factory.nextObject();
    }
    if (!(o instanceof PGPEncryptedDataList list)) {
      throw new IntegrityException("not an OpenPGP encrypted message (found " + describe(o) + ")");
    }
    List<String> tried = new ArrayList<>();
    for (PGPEncryptedData data : list) {
      Optional<InputStream> clear = open(data, tried);
      if (clear.isPresent()) {
        if (!data.isIntegrityProtected()) {
          throw new IntegrityException("OpenPGP message has no integrity protection (MDC); refusing it");
        }
        return new VerifyingStream(literalData(clear.get()), data);
      }
    }
    throw new CryptoException("cannot decrypt the OpenPGP message: " + String.join("; ", tried));
  }

  private Optional<InputStream> open(PGPEncryptedData data, List<String> tried) throws IOException {
    try {
      if (data instanceof PGPPBEEncryptedData pbe) {
        if (passphrase == null) {
          tried.add("it is encrypted with a passphrase and none was given");
          return Optional.empty();
        }
        try {
          return Optional.of(pbe.getDataStream(derivedKeys));
        } catch (PGPException e) {
          tried.add("wrong passphrase");
          return Optional.empty();
        }
      }
      if (data instanceof PGPPublicKeyEncryptedData pk) {
        String keyId = String.format("%016X", pk.getKeyID());
        PGPSecretKey secret = secretKeys == null ? null : secretKeys.getSecretKey(pk.getKeyID());
        if (secret == null) {
          tried.add("no secret key for recipient " + keyId);
          return Optional.empty();
        }
        PGPPrivateKey privateKey;
        try {
          privateKey = secret.extractPrivateKey(secret.getKeyEncryptionAlgorithm() == SymmetricKeyAlgorithmTags.NULL
              ? null : new BcPBESecretKeyDecryptorBuilder(new BcPGPDigestCalculatorProvider())
                  .build(secretKeyPassphrase == null ? new char[0] : secretKeyPassphrase));
        } catch (PGPException e) {
          tried.add("secret key " + keyId + " cannot be unlocked (wrong key passphrase?)");
          return Optional.empty();
        }
        return Optional.of(pk.getDataStream(new BcPublicKeyDataDecryptorFactory(privateKey)));
      }
    } catch (PGPException e) {
      throw new CryptoException("cannot decrypt the OpenPGP message: " + e.getMessage(), e);
    }
    tried.add("unsupported encryption method " + data.getClass().getSimpleName());
    return Optional.empty();
  }

  /** Unwraps optional compression (gpg compresses by default) down to the literal data. */
  private static InputStream literalData(InputStream clear) throws IOException {
    Object o = new BcPGPObjectFactory(clear).nextObject();
    try {
      if (o instanceof PGPCompressedData compressed) {
        o = new BcPGPObjectFactory(compressed.getDataStream()).nextObject();
      }
    } catch (PGPException e) {
      throw new IntegrityException("corrupt compressed data in OpenPGP message: " + e.getMessage(), e);
    }
    if (o instanceof PGPLiteralData literal) {
      return literal.getInputStream();
    }
    throw new IntegrityException("OpenPGP message holds " + describe(o) + ", not literal data (signed messages "
        + "are not supported)");
  }

  private static String describe(Object o) {
    return o == null ? "nothing" : o.getClass().getSimpleName();
  }

  /** Returns end-of-stream only after the integrity packet (MDC) has been checked. */
  private static final class VerifyingStream extends FilterInputStream {
    private final PGPEncryptedData data;
    private boolean verified;

    VerifyingStream(InputStream literal, PGPEncryptedData data) {
      super(literal);
      this.data = data;
    }

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      int n;
      try {
        n = in.read(b, off, len);
      } catch (IOException | RuntimeException e) {
        throw damaged(e);
      }
      if (n < 0 && !verified) {
        verified = true;
        try {
          if (!data.verify()) {
            throw new IntegrityException("OpenPGP integrity check (MDC) failed: the message was modified");
          }
        } catch (PGPException e) {
          throw new IntegrityException("OpenPGP integrity check failed: " + e.getMessage(), e);
        }
      }
      return n;
    }
  }

  @Override
  public String toString() {
    Map<String, String> shown = new LinkedHashMap<>(spec().params());
    shown.remove(CHECK);
    return "OpenPgpEncryption" + shown;
  }

  /** Reads the encryption-capable public (sub)keys from an armored or binary key file exported by gpg. */
  public static List<PGPPublicKey> readRecipients(Path keyFile) throws IOException {
    try (InputStream in = PGPUtil.getDecoderStream(Files.newInputStream(keyFile))) {
      List<PGPPublicKey> keys = new ArrayList<>();
      for (PGPPublicKeyRing ring : new BcPGPPublicKeyRingCollection(in)) {
        for (Iterator<PGPPublicKey> it = ring.getPublicKeys(); it.hasNext(); ) {
          PGPPublicKey key = it.next();
          if (key.isEncryptionKey() && !key.hasRevocation() && canEncrypt(key)) {
            keys.add(key);
          }
        }
      }
      if (keys.isEmpty()) {
        throw new CryptoException("key file " + keyFile + " holds no public key usable for encryption");
      }
      return keys;
    } catch (PGPException e) {
      throw new CryptoException("cannot read OpenPGP public key file " + keyFile + ": " + e.getMessage(), e);
    }
  }

  /** True if the key's self/binding signature allows encryption (a key without flags is accepted). */
  private static boolean canEncrypt(PGPPublicKey key) {
    boolean sawFlags = false;
    for (Iterator<PGPSignature> it = key.getSignatures(); it.hasNext(); ) {
      PGPSignature sig = it.next();
      if (sig.getHashedSubPackets() != null && sig.getHashedSubPackets().hasSubpacket(
          org.bouncycastle.bcpg.SignatureSubpacketTags.KEY_FLAGS)) {
        sawFlags = true;
        if ((sig.getHashedSubPackets().getKeyFlags() & (KeyFlags.ENCRYPT_COMMS | KeyFlags.ENCRYPT_STORAGE)) != 0) {
          return true;
        }
      }
    }
    return !sawFlags;
  }

  /** Reads secret keys exported with {@code gpg --export-secret-keys}. */
  public static PGPSecretKeyRingCollection readSecretKeys(Path keyFile) throws IOException {
    try (InputStream in = PGPUtil.getDecoderStream(Files.newInputStream(keyFile))) {
      return new BcPGPSecretKeyRingCollection(in);
    } catch (PGPException e) {
      throw new CryptoException("cannot read OpenPGP secret key file " + keyFile + ": " + e.getMessage(), e);
    }
  }

  private static org.bouncycastle.openpgp.operator.PGPDigestCalculator s2kDigest() throws PGPException {
    return new JcaPGPDigestCalculatorProviderBuilder().build().get(HashAlgorithmTags.SHA256);
  }

  /**
   * A passphrase as the only method: its S2K output is the message key itself (as {@code gpg --symmetric}
   * writes), and deriving it hashes 65 MB (about 0.1 s of CPU) — per artifact, seconds per backup. So this
   * instance draws one salt and derives its key once; every message still begins with its own random block
   * (OpenPGP's CFB IV), as gpg's messages under one key do. With recipients as well, each message keeps a fresh
   * random session key wrapped under a freshly salted S2K: reusing one key-encryption key would repeat the
   * keystream that wraps the session keys.
   */
  private static final class KeyDerivedOnce extends JcePBEKeyEncryptionMethodGenerator {
    private final Map<Integer, byte[]> keys = new java.util.HashMap<>();

    KeyDerivedOnce(char[] passphrase) throws PGPException {
      super(passphrase, s2kDigest(), S2K_COUNT);
      setSecureRandom(new SecureRandom());
    }

    @Override
    public synchronized byte[] getKey(int algorithm) throws PGPException {
      byte[] key = keys.get(algorithm);
      if (key == null) {
        key = super.getKey(algorithm);
        keys.put(algorithm, key);
      }
      return key.clone();
    }
  }

  /**
   * Decrypts passphrase messages, deriving the key of each S2K (salt, count, hash) once: the artifacts of one
   * backup share one. Remembers the last few, as the restore of a chain of backups reads several.
   */
  private static final class DerivedKeys extends org.bouncycastle.openpgp.operator.PBEDataDecryptorFactory {
    private final org.bouncycastle.openpgp.operator.PBEDataDecryptorFactory jce;
    private final Map<String, byte[]> keys = new LinkedHashMap<>(16, 0.75f, true) {
      @Override
      protected boolean removeEldestEntry(Map.Entry<String, byte[]> eldest) {
        return size() > 16;
      }
    };

    DerivedKeys(char[] passphrase) throws PGPException {
      super(passphrase, new JcaPGPDigestCalculatorProviderBuilder().build());
      this.jce = new JcePBEDataDecryptorFactoryBuilder(new JcaPGPDigestCalculatorProviderBuilder().build())
          .build(passphrase);
    }

    @Override
    public byte[] makeKeyFromPassPhrase(int keyAlgorithm, org.bouncycastle.bcpg.S2K s2k) throws PGPException {
      String id;
      try {
        id = keyAlgorithm + ":" + HexFormat.of().formatHex(s2k.getEncoded());
      } catch (IOException e) {
        return jce.makeKeyFromPassPhrase(keyAlgorithm, s2k);
      }
      byte[] key;
      synchronized (keys) {
        key = keys.get(id);
      }
      if (key == null) {
        key = jce.makeKeyFromPassPhrase(keyAlgorithm, s2k);
        synchronized (keys) {
          keys.put(id, key);
        }
      }
      return key.clone();
    }

    @Override
    public byte[] recoverSessionData(int keyAlgorithm, byte[] key, byte[] sessionData) throws PGPException {
      return jce.recoverSessionData(keyAlgorithm, key, sessionData);
    }

    @Override
    public byte[] recoverAEADEncryptedSessionData(org.bouncycastle.bcpg.SymmetricKeyEncSessionPacket packet,
        byte[] key) throws PGPException {
      return jce.recoverAEADEncryptedSessionData(packet, key);
    }

    @Override
    public org.bouncycastle.openpgp.operator.PGPDataDecryptor createDataDecryptor(boolean withIntegrityPacket,
        int encAlgorithm, byte[] key) throws PGPException {
      return jce.createDataDecryptor(withIntegrityPacket, encAlgorithm, key);
    }

    @Override
    public org.bouncycastle.openpgp.operator.PGPDataDecryptor createDataDecryptor(
        org.bouncycastle.bcpg.AEADEncDataPacket packet, org.bouncycastle.openpgp.PGPSessionKey key)
        throws PGPException {
      return jce.createDataDecryptor(packet, key);
    }

    @Override
    public org.bouncycastle.openpgp.operator.PGPDataDecryptor createDataDecryptor(
        org.bouncycastle.bcpg.SymmetricEncIntegrityPacket packet, org.bouncycastle.openpgp.PGPSessionKey key)
        throws PGPException {
      return jce.createDataDecryptor(packet, key);
    }
  }

  /** Configures encryption (passphrase, recipients) and decryption (passphrase, secret keys). */
  public static final class Builder {
    private char @Nullable [] passphrase;
    private final List<PGPPublicKey> recipients = new ArrayList<>();
    private @Nullable PGPSecretKeyRingCollection secretKeys;
    private char @Nullable [] secretKeyPassphrase;

    private Builder() {}

    public Builder passphrase(char @Nullable [] passphrase) {
      if (passphrase == null || passphrase.length == 0) {
        throw new IllegalArgumentException("passphrase must not be empty");
      }
      this.passphrase = Arrays.copyOf(passphrase, passphrase.length);
      return this;
    }

    public Builder recipient(PGPPublicKey key) {
      recipients.add(key);
      return this;
    }

    /** Adds the encryption keys in a gpg-exported public key file. */
    public Builder recipientKeyFile(Path file) throws IOException {
      recipients.addAll(readRecipients(file));
      return this;
    }

    /** Secret keys for decryption, and the passphrase protecting them (null if unprotected). */
    public Builder secretKeys(PGPSecretKeyRingCollection keys, char @Nullable [] keyPassphrase) {
      this.secretKeys = keys;
      this.secretKeyPassphrase = keyPassphrase == null ? null : Arrays.copyOf(keyPassphrase, keyPassphrase.length);
      return this;
    }

    public OpenPgpEncryption build() {
      return new OpenPgpEncryption(this);
    }
  }

  /** Rebuilds the decrypting side from a manifest, with secrets from {@link Secrets}. */
  public static final class Provider implements TransformProvider {
    @Override
    public String name() {
      return NAME;
    }

    @Override
    public Transform restore(TransformSpec spec, Secrets secrets) throws IOException {
      Builder b = builder();
      secrets.get(PASSPHRASE).ifPresent(b::passphrase);
      Optional<char[]> keyFile = secrets.get(SECRET_KEY_FILE);
      if (keyFile.isPresent()) {
        b.secretKeys(readSecretKeys(Path.of(new String(keyFile.get()))), secrets.get(SECRET_KEY_PASSPHRASE).orElse(null));
      }
      if (keyFile.isEmpty() && secrets.get(PASSPHRASE).isEmpty()) {
        throw new CryptoException("the backup is OpenPGP-encrypted (" + describeSpec(spec) + "); supply the "
            + "passphrase or a secret key: in Java the Secrets given to the restore, verify or drill must hold \""
            + PASSPHRASE + "\" or \"" + SECRET_KEY_FILE + "\" (e.g. Secrets.fromEnvironment); in the CLI "
            + "--passphrase-env VAR or --secret-key FILE");
      }
      // So that what a restore writes on its own (a safety backup) is encrypted to the same recipients, as far
      // as their public keys are at hand (in the secret key rings given for decryption).
      String recipients = spec.params().get("recipients");
      if (recipients != null && b.secretKeys != null) {
        for (String fingerprint : recipients.split(",")) {
          for (PGPSecretKeyRing ring : b.secretKeys) {
            for (PGPPublicKey key : (Iterable<PGPPublicKey>) ring::getPublicKeys) {
              if (HexFormat.of().formatHex(key.getFingerprint()).equalsIgnoreCase(fingerprint)) {
                b.recipient(key);
              }
            }
          }
        }
      }
      return b.build();
    }

    /** Holding a passphrase or a secret key means "this must be OpenPGP-encrypted". */
    @Override
    public java.util.Set<String> demandingSecrets() {
      return java.util.Set.of(PASSPHRASE, SECRET_KEY_FILE);
    }

    /** A supplied passphrase whose check value differs from the one recorded for the artifact. */
    @Override
    public boolean refutes(TransformSpec spec, Secrets secrets) {
      Optional<char[]> supplied = secrets.get(PASSPHRASE);
      return supplied.isPresent() && !passphrase(supplied.get()).matchesCheck(spec.params().get(CHECK)).orElse(true);
    }

    /** Passphrase plans are signed with a key derived from the passphrase (a public key is no secret). */
    @Override
    public Optional<String> signingSecret() {
      return Optional.of(PASSPHRASE);
    }

    private static String describeSpec(TransformSpec spec) {
      String recipients = spec.params().get("recipients");
      return "passphrase: " + spec.params().getOrDefault("passphrase", "?")
          + (recipients == null ? "" : ", recipients: " + recipients);
    }
  }
}
