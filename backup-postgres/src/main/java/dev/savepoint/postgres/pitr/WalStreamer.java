package dev.savepoint.postgres.pitr;

import dev.savepoint.core.SavepointException;
import dev.savepoint.core.SourceException;
import dev.savepoint.postgres.PostgresUrl;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.postgresql.PGConnection;
import org.postgresql.replication.LogSequenceNumber;
import org.postgresql.replication.PGReplicationStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Streams a PostgreSQL cluster's WAL into a {@link WalArchive} over a physical replication slot, as
 * {@code pg_receivewal} does, with an RPO of seconds: complete segments are stored as they fill, and the segment
 * being written is stored as {@code <segment>.partial} every {@code flushInterval}. The server is told the flush
 * position only after the bytes are durable in the repository, so the slot keeps every byte that is not yet
 * safe, and no more. Resumes after a restart from the archive's newest segment (a partial one is streamed again
 * from its start), else from the slot's {@code restart_lsn}; reconnects with backoff when the server goes away;
 * stores the new timeline's history file after a promotion. {@link #run} blocks until {@link #close}; a single
 * thread reads the stream.
 */
public final class WalStreamer implements Runnable, AutoCloseable, dev.savepoint.core.operations.WalStreamStatus {
  private static final Logger log = LoggerFactory.getLogger(WalStreamer.class);

  private final PostgresUrl url;
  private final WalArchive archive;
  private final String slot;
  private final Duration flushInterval;
  private volatile boolean closed;
  private volatile @Nullable Thread runner;
  private volatile @Nullable IOException failure;
  /** How often an idle streamer says it is caught up (at least every flush interval). */
  static final Duration HEARTBEAT_INTERVAL = Duration.ofSeconds(30);

  private volatile long durableLsn;
  private volatile @Nullable Instant durableAt;
  private volatile boolean connected;
  private volatile int timeline;
  private final java.util.concurrent.atomic.AtomicLong retries = new java.util.concurrent.atomic.AtomicLong();
  private Duration heartbeatInterval = HEARTBEAT_INTERVAL;
  private final java.util.concurrent.CountDownLatch streaming = new java.util.concurrent.CountDownLatch(1);
  private volatile @Nullable String streamingFrom;

  public WalStreamer(PostgresUrl url, WalArchive archive, String slot, Duration flushInterval) {
    this.url = Objects.requireNonNull(url);
    this.archive = Objects.requireNonNull(archive);
    if (!slot.matches("[a-z0-9_]{1,63}")) {
      throw new IllegalArgumentException("a replication slot name is lower-case letters, digits and _: " + slot);
    }
    this.slot = slot;
    this.flushInterval = Objects.requireNonNull(flushInterval);
  }

  /** The newest LSN durable in the archive (0 before the first flush). */
  /** For tests: heartbeats more often than every {@link #HEARTBEAT_INTERVAL}. */
  WalStreamer heartbeatInterval(Duration interval) {
    this.heartbeatInterval = interval;
    return this;
  }

  @Override
  public long durableLsn() {
    return durableLsn;
  }

  /**
   * When WAL last became durable in the repository (null before the first flush): the streamer's RPO is the
   * time since, e.g. for a gauge — {@code Gauge.builder("savepoint.wal.durable.age", streamer,
   * s -> s.lastDurableAt() == null ? Double.NaN : Duration.between(s.lastDurableAt(), Instant.now()).toSeconds())}.
   * On an idle server nothing new becomes durable; {@link PointInTimeRestore#rpoBreach} tells the two apart
   * by the server's own position.
   */
  @Override
  public @Nullable Instant lastDurableAt() {
    return durableAt;
  }

  @Override
  public boolean connected() {
    return connected;
  }

  @Override
  public long retries() {
    return retries.get();
  }

  @Override
  public int timeline() {
    return timeline;
  }

  /** Streams until {@link #close}; reconnects on connection loss; stops on a non-transient error. */
  @Override
  public void run() {
    runner = Thread.currentThread();
    Duration backoff = Duration.ofMillis(200);
    while (!closed) {
      try {
        streamOnce();
        backoff = Duration.ofMillis(200);
      } catch (SQLException e) {
        connected = false;
        if (closed) {
          break;
        }
        retries.incrementAndGet();
        log.warn("WAL stream from {} interrupted ({}); reconnecting in {} ms", url, e.getMessage(), backoff.toMillis());
        sleep(backoff);
        backoff = backoff.multipliedBy(2).compareTo(Duration.ofSeconds(30)) > 0 ? Duration.ofSeconds(30)
            : backoff.multipliedBy(2);
      } catch (IOException e) {
        connected = false;
        if (closed) {
          break;
        }
        if (e instanceof SavepointException && !(e instanceof dev.savepoint.core.TransientStoreException)) {
          failure = e;
          log.error("WAL streaming from {} stopped: {}", url, e.getMessage());
          return;
        }
        retries.incrementAndGet();
        log.warn("WAL archive {} failed ({}); retrying in {} ms", archive.describe(), e.getMessage(), backoff.toMillis());
        sleep(backoff);
        backoff = backoff.multipliedBy(2).compareTo(Duration.ofSeconds(30)) > 0 ? Duration.ofSeconds(30)
            : backoff.multipliedBy(2);
      }
    }
    connected = false;
    log.info("WAL streaming from {} stopped; durable up to {}", url, WalSegment.lsn(durableLsn));
  }

  /**
   * Waits until the slot exists and the stream has started (a base backup taken from then on is covered by the
   * archive); returns where it started ("system … timeline … from X/X"), or null on timeout.
   */
  public @Nullable String awaitStreaming(Duration timeout) throws InterruptedException {
    return streaming.await(timeout.toMillis(), TimeUnit.MILLISECONDS) ? streamingFrom : null;
  }

  /** Why {@link #run} stopped on its own, if it did. */
  public @Nullable IOException failure() {
    return failure;
  }

  private static void sleep(Duration d) {
    try {
      Thread.sleep(d.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void streamOnce() throws SQLException, IOException {
    long segmentSize;
    long restartLsn;
    try (Connection sql = url.connect(); Statement s = sql.createStatement()) {
      try (ResultSet r = s.executeQuery("SELECT setting::bigint FROM pg_settings WHERE name = 'wal_segment_size'")) {
        r.next();
        segmentSize = r.getLong(1);
      }
      restartLsn = ensureSlot(sql);
    }
    try (Connection repl = url.connectForReplication()) {
      String systemId;
      int timeline;
      try (Statement s = repl.createStatement(); ResultSet r = s.executeQuery("IDENTIFY_SYSTEM")) {
        r.next();
        systemId = r.getString("systemid");
        timeline = r.getInt("timeline");
      }
      archive.claim(systemId);
      long forkLsn = timeline > 1 ? forkPoint(storeHistory(repl, timeline)) : 0;
      WalSegment segment = resumePoint(timeline, forkLsn, restartLsn, segmentSize);
      streamingFrom = "system " + systemId + " timeline " + timeline + " from " + WalSegment.lsn(segment.startLsn());
      log.info("streaming WAL of {} into {}", streamingFrom, archive.describe());
      PGReplicationStream stream = repl.unwrap(PGConnection.class).getReplicationAPI().replicationStream().physical()
          .withSlotName(slot).withStartPosition(LogSequenceNumber.valueOf(segment.startLsn()))
          .withStatusInterval(10, TimeUnit.SECONDS).withAutomaticFlush(false).start();
      this.timeline = timeline;
      connected = true;
      streaming.countDown();
      try {
        pump(stream, segment);
      } finally {
        if (!stream.isClosed()) {
          stream.close();
        }
      }
    }
  }

  /** Creates the slot (reserving WAL at once) when missing; returns its restart_lsn, or 0 if unknown. */
  private long ensureSlot(Connection sql) throws SQLException, IOException {
    try (PreparedStatement ps = sql.prepareStatement(
        "SELECT restart_lsn::text, wal_status FROM pg_replication_slots WHERE slot_name = ? AND slot_type = 'physical'")) {
      ps.setString(1, slot);
      try (ResultSet r = ps.executeQuery()) {
        if (r.next()) {
          if ("lost".equals(r.getString(2))) {
            throw new SourceException("replication slot " + slot + " on " + url + " has lost WAL the archive needs "
                + "(wal_status = lost, max_slot_wal_keep_size exceeded): take a new base backup, then drop and "
                + "recreate the slot");
          }
          return r.getString(1) == null ? 0 : WalSegment.parseLsn(r.getString(1));
        }
      }
    }
    try (Connection repl = url.connectForReplication(); Statement s = repl.createStatement()) {
      // pgjdbc's slot builder omits RESERVE_WAL; without it the slot would hold nothing until streaming starts.
      s.execute("CREATE_REPLICATION_SLOT \"" + slot + "\" PHYSICAL RESERVE_WAL");
    }
    log.info("created physical replication slot {} on {}", slot, url);
    return ensureSlot(sql);
  }

  /**
   * Where a timeline begins: the switch point on the last line of its history file ({@code parent-timeline TAB
   * switch-LSN TAB reason}).
   */
  static long forkPoint(String history) {
    String last = null;
    for (String line : history.split("\n")) {
      if (!line.isBlank() && !line.strip().startsWith("#")) {
        last = line.strip();
      }
    }
    if (last == null) {
      throw new IllegalArgumentException("timeline history holds no switch point: " + history);
    }
    return WalSegment.parseLsn(last.split("\\s+")[1]);
  }

  /**
   * Where to start: after the archive's newest complete segment, or at its partial one, else the slot's. On a
   * timeline the archive has not seen yet (after a promotion or a point-in-time recovery in place), never past the
   * timeline's fork point: the segment holding it is the new timeline's first, and the older timeline's segments
   * after it belong to a past that this cluster no longer has (a recovery forks back in time).
   */
  private WalSegment resumePoint(int timeline, long forkLsn, long restartLsn, long segmentSize) throws IOException {
    WalSegment newest = null;
    boolean partial = false;
    boolean holdsTimeline = false;
    for (String name : archive.entries().keySet()) {
      boolean isPartial = name.endsWith(".partial");
      WalSegment s = WalSegment.parse(isPartial ? name.substring(0, name.length() - 8) : name, segmentSize);
      if (s == null || s.timeline() > timeline) {
        continue;
      }
      holdsTimeline |= s.timeline() == timeline;
      if (newest == null || s.number() > newest.number() || s.number() == newest.number() && !isPartial) {
        newest = s;
        partial = isPartial;
      }
    }
    WalSegment resume = newest == null ? WalSegment.containing(timeline, restartLsn, segmentSize)
        : new WalSegment(timeline, (partial ? newest : newest.next()).number(), segmentSize);
    if (timeline > 1 && !holdsTimeline) {
      WalSegment fork = WalSegment.containing(timeline, forkLsn, segmentSize);
      if (fork.number() < resume.number()) {
        log.info("timeline {} forked at {}: streaming from there, not after the archive's newest segment {} of an "
            + "older timeline", timeline, WalSegment.lsn(forkLsn), resume.name());
        return fork;
      }
    }
    return resume;
  }

  /** Stores the timeline's history file (once) and returns its content, as the server has it. */
  private String storeHistory(Connection repl, int timeline) throws SQLException, IOException {
    String name = String.format("%08X.history", timeline);
    try (Statement s = repl.createStatement(); ResultSet r = s.executeQuery("TIMELINE_HISTORY " + timeline)) {
      r.next();
      String history = r.getString(2);
      if (archive.entry(name).isEmpty()) {
        byte[] content = history.getBytes(StandardCharsets.UTF_8);
        archive.store(name, content, content.length);
      }
      return history;
    }
  }

  /** Copies XLogData into segment buffers, storing full segments and periodic partials, until closed. */
  private void pump(PGReplicationStream stream, WalSegment first) throws SQLException, IOException {
    WalSegment segment = first;
    byte[] buffer = new byte[(int) segment.size()];
    int filled = 0;
    int flushedUpTo = 0;
    Instant lastFlush = Instant.now();
    Instant lastHeartbeat = Instant.EPOCH;
    Duration heartbeatEvery = flushInterval.compareTo(heartbeatInterval) > 0 ? flushInterval : heartbeatInterval;
    while (!closed) {
      ByteBuffer data = stream.readPending();
      if (data == null) {
        if (filled > flushedUpTo && Duration.between(lastFlush, Instant.now()).compareTo(flushInterval) >= 0) {
          archive.store(segment.name() + ".partial", buffer, filled);
          flushedUpTo = filled;
          lastFlush = Instant.now();
          confirm(stream, segment.startLsn() + filled);
        } else if (filled == flushedUpTo && durableLsn == segment.startLsn() + filled
            && Duration.between(lastHeartbeat, Instant.now()).compareTo(heartbeatEvery) >= 0) {
          // Idle: nothing new to store, but the window stays current (see WalArchive.Heartbeat).
          archive.heartbeat(durableLsn);
          lastHeartbeat = Instant.now();
        }
        sleep(Duration.ofMillis(10));
        continue;
      }
      long start = stream.getLastReceiveLSN().asLong() - data.remaining();
      if (start != segment.startLsn() + filled) {
        throw new SourceException("WAL stream from " + url + " jumped from " + WalSegment.lsn(segment.startLsn() + filled)
            + " to " + WalSegment.lsn(start) + "; restart the streamer");
      }
      while (data.hasRemaining()) {
        int n = Math.min(data.remaining(), buffer.length - filled);
        data.get(buffer, filled, n);
        filled += n;
        if (filled == buffer.length) {
          archive.store(segment.name(), buffer, filled);
          archive.deletePartial(segment.name());
          confirm(stream, segment.endLsn());
          progress(segment);
          segment = segment.next();
          filled = 0;
          flushedUpTo = 0;
          lastFlush = Instant.now();
        }
      }
    }
    if (filled > flushedUpTo) { // A clean stop keeps everything received.
      archive.store(segment.name() + ".partial", buffer, filled);
      confirm(stream, segment.startLsn() + filled);
    }
  }

  private Instant lastProgress = Instant.now();
  private int segmentsSinceProgress;

  /** At most one line a minute while segments complete: how far the archive is durable, and how fast it goes. */
  private void progress(WalSegment completed) {
    segmentsSinceProgress++;
    if (Duration.between(lastProgress, Instant.now()).compareTo(Duration.ofMinutes(1)) >= 0) {
      log.info("WAL durable up to {} (segment {}); {} segment(s) archived since {}", WalSegment.lsn(durableLsn),
          completed.name(), segmentsSinceProgress, lastProgress);
      lastProgress = Instant.now();
      segmentsSinceProgress = 0;
    }
  }

  /** Tells the server what is durable, so the slot releases exactly that. */
  private void confirm(PGReplicationStream stream, long lsn) throws SQLException {
    durableLsn = lsn;
    durableAt = Instant.now();
    stream.setFlushedLSN(LogSequenceNumber.valueOf(lsn));
    stream.setAppliedLSN(LogSequenceNumber.valueOf(lsn));
    stream.forceUpdateStatus();
  }

  /** Stops streaming; the segment being written is stored as a partial first. Waits up to 30 s. */
  @Override
  public void close() {
    closed = true;
    Thread t = runner;
    if (t != null && t != Thread.currentThread()) {
      try {
        t.join(30_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
