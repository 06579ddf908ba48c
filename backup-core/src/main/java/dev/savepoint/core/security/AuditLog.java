package dev.savepoint.core.security;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import dev.savepoint.core.IntegrityException;
import dev.savepoint.core.ObjectNotFoundException;
import dev.savepoint.core.StoreException;
import dev.savepoint.core.store.ObjectInfo;
import dev.savepoint.core.store.Store;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.jspecify.annotations.Nullable;

/**
 * An append-only, hash-chained record of every backup, verify, restore, drill, prune and approval: who (a
 * principal the host supplies), what, when, and the result. Entries live in the repository as
 * {@code _savepoint/audit/<sequence>.json}; each carries the SHA-256 of its predecessor and of itself, so
 * {@link #verify()} detects an edited, removed or reordered entry. (Removing the newest entries leaves a
 * valid shorter chain: forward {@link Entry#hash()} of the head to an external system, e.g. a notifier, to
 * detect that too.) Concurrent appenders, in this process or others, each take their own sequence.
 */
public final class AuditLog {
  /** Where in the repository the entries lie, one object per entry. */
  public static final String PREFIX = "_savepoint/audit/";
  private static final ObjectMapper JSON = new ObjectMapper().registerModule(new JavaTimeModule())
      .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
      .configure(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS, true);

  /**
   * One audit record. {@code hash} covers every other field, including {@code previousHash};
   * {@code signature} (with a signer) signs {@code hash}, so a writer without the key cannot rewrite the chain
   * with recomputed hashes.
   */
  public record Entry(long sequence, Instant time, String principal, String action, String subject, String result,
      Map<String, Object> details, String previousHash, @Nullable String hash,
      @com.fasterxml.jackson.annotation.JsonInclude(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL)
      @Nullable String signature) {
    Entry withSignature(String s) {
      return new Entry(sequence, time, principal, action, subject, result, details, previousHash, hash, s);
    }
  }

  private final Store store;
  private final @Nullable ManifestSigner signer;

  /** An unsigned log: the hash chain detects edits, but not a writer who recomputes every hash. */
  public AuditLog(Store store) {
    this(store, null);
  }

  /**
   * A log whose entries are signed by {@code signer} (the repository's manifest signer) and whose {@link #verify}
   * refuses unsigned or wrongly signed entries.
   */
  public AuditLog(Store store, @Nullable ManifestSigner signer) {
    this.store = store;
    this.signer = signer;
  }

  /** Whether entries are signed and checked. */
  public boolean signed() {
    return signer != null;
  }

  /**
   * Appends an entry and returns it. {@code details} must not contain secrets. The entry takes the sequence after the
   * newest well-named entry, with a conditional write ({@link Store#putIfAbsent}): of two concurrent appenders (other
   * processes, other hosts) each gets its own sequence. An object at the head that is not a readable entry (planted,
   * truncated) never blocks appends: the new entry records that its predecessor is unreadable, and {@link #verify}
   * reports the break there.
   */
  public synchronized Entry append(String principal, String action, String subject, String result,
      Map<String, Object> details) throws IOException {
    Map<String, Object> d = details == null ? Map.of() : new TreeMap<>(details);
    for (int attempt = 1; ; attempt++) {
      long newest = 0;
      for (ObjectInfo o : store.list(PREFIX)) {
        java.util.regex.Matcher m = ENTRY_KEY.matcher(o.key());
        if (m.matches() && m.group(1).length() < 19) {
          newest = Math.max(newest, Long.parseLong(m.group(1)));
        }
      }
      String previous = "";
      if (newest > 0) {
        try {
          previous = java.util.Objects.requireNonNullElse(read(key(newest)).hash(), "unreadable " + key(newest));
        } catch (IntegrityException | ObjectNotFoundException e) {
          previous = "unreadable " + key(newest);
        }
      }
      long sequence = newest + 1;
      Entry unhashed = new Entry(sequence, Instant.now(), principal, action, subject, result, d, previous, null, null);
      String hash = hash(unhashed);
      Entry entry = new Entry(sequence, unhashed.time(), principal, action, subject, result, d, previous, hash, null);
      if (signer != null) {
        entry = entry.withSignature(signer.algorithm() + ":" + java.util.Base64.getEncoder().encodeToString(
            signer.sign(hash.getBytes(StandardCharsets.UTF_8))));
      }
      if (store.putIfAbsent(key(sequence), JSON.writeValueAsBytes(entry))) {
        return entry;
      }
      if (attempt == 50) {
        throw new StoreException("could not append to the audit log of " + store.describe() + ": entry " + sequence
            + " was taken by another writer 50 times in a row");
      }
      try {
        Thread.sleep(java.util.concurrent.ThreadLocalRandom.current().nextInt(1, 5L * attempt > 50 ? 50 : 5 * attempt));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new java.io.InterruptedIOException("interrupted while appending to the audit log");
      }
    }
  }

  private static final java.util.regex.Pattern ENTRY_KEY =
      java.util.regex.Pattern.compile(java.util.regex.Pattern.quote(PREFIX) + "([0-9]{12,})\\.json");

  private static String key(long sequence) {
    return PREFIX + String.format("%012d.json", sequence);
  }

  private Entry read(String key) throws IOException {
    try (InputStream in = store.get(key)) {
      return JSON.readValue(in, Entry.class);
    } catch (JsonProcessingException e) {
      throw new IntegrityException("audit entry " + key + " is not valid JSON: " + e.getOriginalMessage());
    }
  }

  static String hash(Entry e) {
    Entry withoutHash = new Entry(e.sequence(), e.time(), e.principal(), e.action(), e.subject(), e.result(),
        e.details(), e.previousHash(), null, null);
    try {
      byte[] canonical = JSON.writeValueAsString(withoutHash).getBytes(StandardCharsets.UTF_8);
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(canonical));
    } catch (JsonProcessingException | NoSuchAlgorithmException e1) {
      throw new IllegalStateException(e1);
    }
  }

  private boolean validSignature(Entry e) {
    ManifestSigner verifier = signer;
    String signature = e.signature();
    String hash = e.hash();
    if (verifier == null || signature == null || hash == null) {
      return false;
    }
    String[] parts = signature.split(":", 2);
    try {
      return parts.length == 2 && parts[0].equals(verifier.algorithm())
          && verifier.verify(hash.getBytes(StandardCharsets.UTF_8), java.util.Base64.getDecoder().decode(parts[1]));
    } catch (IllegalArgumentException bad) {
      return false;
    }
  }

  /**
   * As {@link #verify()}, and also checks that entry {@code sequence} still has {@code hash}: the head an earlier
   * operation sent out of band (a webhook, another system's log). Removing the newest entries leaves a valid
   * shorter chain, and a writer with the signing key could rewrite it; against a head kept elsewhere, both show.
   */
  public List<Entry> verify(long sequence, String hash) throws IOException {
    List<Entry> entries = verify();
    if (entries.size() < sequence) {
      throw new IntegrityException("audit log has " + entries.size() + " entries, but entry " + sequence
          + " was sent out as its head: newer entries were removed");
    }
    Entry e = entries.get((int) sequence - 1);
    if (!hash.equals(e.hash())) {
      throw new IntegrityException("audit entry " + sequence + " has hash " + e.hash() + ", but " + hash
          + " was sent out for it: the chain was rewritten");
    }
    return entries;
  }

  /**
   * Every entry that reads as one, in order, without checking the chain — in a signed log only those whose signature
   * holds: what {@code report} and {@code audit} still show around a break (one planted object must not blind them).
   */
  public List<Entry> readable() throws IOException {
    List<Entry> result = new ArrayList<>();
    for (ObjectInfo o : store.list(PREFIX)) {
      if (!ENTRY_KEY.matcher(o.key()).matches()) {
        continue;
      }
      try {
        Entry e = read(o.key());
        if (e.hash() != null && hash(e).equals(e.hash()) && (signer == null || validSignature(e))) {
          result.add(e);
        }
      } catch (IntegrityException | ObjectNotFoundException unreadable) {
        // reported by verify()
      }
    }
    return result;
  }

  /** All entries in order, after checking the chain; throws {@link IntegrityException} at the first break. */
  public List<Entry> verify() throws IOException {
    List<Entry> result = new ArrayList<>();
    String previous = "";
    long expected = 1;
    for (ObjectInfo o : store.list(PREFIX)) {
      Entry e = read(o.key());
      if (e.sequence() != expected || !o.key().equals(key(e.sequence()))) {
        throw new IntegrityException("audit log broken at " + o.key() + ": expected entry " + expected
            + ", found " + e.sequence() + " (an entry was removed or renamed)");
      }
      if (!e.previousHash().equals(previous)) {
        throw new IntegrityException("audit log broken at entry " + e.sequence() + ": previous hash expected "
            + previous + ", actual " + e.previousHash());
      }
      String actual = hash(e);
      if (!actual.equals(e.hash())) {
        throw new IntegrityException("audit entry " + e.sequence() + " was modified: hash expected " + e.hash()
            + ", actual " + actual);
      }
      if (signer != null && !validSignature(e)) {
        throw new IntegrityException("audit entry " + e.sequence() + " is " + (e.signature() == null ? "not signed"
            : "wrongly signed") + ": the chain was written or rewritten without the " + signer.algorithm() + " key");
      }
      result.add(e);
      previous = e.hash();
      expected++;
    }
    return result;
  }
}
