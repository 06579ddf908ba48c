package dev.savepoint.postgres.pitr;

import dev.savepoint.core.ArtifactRecord;
import dev.savepoint.core.IntegrityException;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.Repository;
import dev.savepoint.core.RestoreException;
import dev.savepoint.core.Secrets;
import dev.savepoint.core.internal.Tar;
import dev.savepoint.core.operations.Event;
import dev.savepoint.postgres.internal.Facts;
import dev.savepoint.postgres.internal.PgTools;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import org.jspecify.annotations.Nullable;

/**
 * Restores a PostgreSQL cluster to a point in time into a data directory: the newest base backup that ended
 * before the target, every WAL file from its start on fetched (verified, in parallel) into the directory so that
 * recovery needs neither credentials nor network, and the recovery settings written ({@code recovery.signal},
 * {@code restore_command} over the fetched files, {@code recovery_target_time}, {@code recovery_target_action =
 * promote}, archiving off so the copy never writes into the production repository). Starting PostgreSQL on the
 * directory then replays to the target and opens read-write; {@link LocalCluster#verifyRecovery} does that on a
 * free port and reports what it reached. A target outside the recoverable window, or behind a gap in the WAL,
 * is refused before anything is written, naming the window.
 */
// Over 500 lines: choosing the base backup and the WAL chain along a timeline, the recoverable window and its checks,
// and the restore's recovery settings all read one listing of the archive and one choice of base backup; fetching
// (WalFetch), the server (LocalCluster), retention (WalRetention), segment names (WalSegment) are classes of their own.
public final class PointInTimeRestore {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(PointInTimeRestore.class);

  /** Where WAL is fetched to, inside the data directory. */
  public static final String WAL_DIR = "savepoint_wal";

  /** From the end of the oldest base backup to the newest durable WAL. */
  public record Window(Instant from, Instant to) {
    public boolean contains(Instant t) {
      return !t.isBefore(from) && !t.isAfter(to);
    }
  }

  /** What a restore wrote: which base backup, how many WAL files, to which target. */
  /**
   * A restore written to {@code directory}; {@code targetTime} is the time asked for (null for the newest WAL or a WAL
   * position), also where recovery replays all durable WAL because no transaction ended after it.
   */
  public record Result(String baseBackupId, int walFiles, String target, Path directory, int serverMajor,
      @Nullable Instant targetTime) {
    /**
     * Why a recovery that {@link LocalCluster#verifyRecovery} saw is not the one asked for, or empty if it is: the one
     * rule of {@code restore --verify}, drills and recovery steps. It replayed no commit at all, or its last replayed
     * commit lies after the target (a server that does not stop where it was told: the wrong point in time).
     */
    public Optional<String> shortfall(LocalCluster.Recovered recovered) {
      if (recovered.lastReplayedCommit() == null) {
        return Optional.of("the recovered cluster replayed no commit: the WAL restored holds none after the base backup"
            + " " + baseBackupId + ", so nothing shows it reached " + target);
      }
      if (targetTime != null && recovered.lastReplayedCommit().isAfter(targetTime)) {
        return Optional.of("the recovered cluster replayed a commit of " + recovered.lastReplayedCommit() + ", after "
            + "the target " + targetTime + ": it is not the state at the target");
      }
      return Optional.empty();
    }
  }

  private final Repository repository;
  private final String plan;
  private final WalArchive archive;
  /** The timeline to recover along; null: the newest one (recovery_target_timeline = 'latest'). */
  private final @Nullable Integer timeline;

  public PointInTimeRestore(Repository repository, String plan) {
    this(repository, plan, null);
  }

  private PointInTimeRestore(Repository repository, String plan, @Nullable Integer timeline) {
    this.repository = Objects.requireNonNull(repository);
    this.plan = Objects.requireNonNull(plan);
    this.archive = new WalArchive(repository, plan, List.of());
    this.timeline = timeline;
  }

  /**
   * The same plan recovered along {@code timeline} instead of the newest one ({@code recovery_target_timeline}):
   * e.g. timeline 1 after an in-place recovery made timeline 2, to go back to the history that recovery left. Its
   * window, restores and drills follow that timeline, from the base backups that can reach it.
   */
  public PointInTimeRestore onTimeline(int timeline) {
    if (timeline < 1) {
      throw new IllegalArgumentException("a timeline is a positive number: " + timeline);
    }
    return new PointInTimeRestore(repository, plan, timeline);
  }

  private List<Manifest> baseBackups() throws IOException {
    List<Manifest> bases = new ArrayList<>(repository.list(plan).stream()
        .filter(m -> m.source().type().equals(BaseBackupSource.TYPE)).toList());
    if (bases.isEmpty()) {
      throw new RestoreException("plan '" + plan + "' has no base backup in " + repository.describe()
          + " (savepoint basebackup)");
    }
    return bases;
  }

  /** Every timeline a base backup of the plan reaches through the archived WAL: what {@link #onTimeline} takes. */
  public java.util.SortedSet<Integer> timelines() throws IOException {
    return timelines(baseBackups(), histories(archive.entries()));
  }

  /** The timeline restores follow: the one {@link #onTimeline} named, else the newest in the archive. */
  public int followedTimeline() throws IOException {
    if (timeline != null) {
      return timeline;
    }
    return timelines(baseBackups(), histories(archive.entries())).last();
  }

  /** The base backups a window and gaps consider: all, or those that reach the timeline {@link #onTimeline} named. */
  private List<Manifest> considered() throws IOException {
    return timeline == null ? baseBackups() : reachingTheTimeline(baseBackups());
  }

  /**
   * The recoverable window, considering the WAL chain's first gap after the oldest base backup. Its end is what a
   * restore is proven to reach: the newest commit in the durable WAL (or, on an idle server, the streamer's heartbeat
   * that nothing newer was written) — never the time a file was stored, which can be minutes after commits that are
   * not in the archive yet. Where the WAL cannot be decoded here (no key, no pg_waldump of its major), the stored time
   * stands in, and the log says so.
   */
  public Window window() throws IOException {
    List<Manifest> bases = considered();
    Chain chain = chain(bases.get(0));
    return new Window(bases.get(0).finishedAt(), provenEnd(chain, bases.get(0), repository.secrets()));
  }

  /** The end of {@code chain} a restore is proven to reach (see {@link #window}). */
  private Instant provenEnd(Chain chain, Manifest base, Secrets secrets) throws IOException {
    if (chain.files().stream().noneMatch(f -> f.name().matches("[0-9A-F]{24}(\\.partial)?"))) {
      return chain.durableUntil();
    }
    long size = Facts.number(base.source().facts(), "walSegmentSize").longValue();
    int major = Integer.parseInt(String.valueOf(base.source().facts().get("serverVersion")).split("[.\\s]")[0]);
    Instant lastCommit;
    Path scratch = Files.createTempDirectory("savepoint-window-");
    try {
      String waldump = PgTools.findExact("pg_waldump", major);
      List<WalArchive.Entry> segments = chain.files().stream()
          .filter(f -> f.name().matches("[0-9A-F]{24}(\\.partial)?")).toList();
      lastCommit = null;
      // From the newest segment back, one at a time: the newest commit is nearly always in the last one or two.
      for (int i = segments.size() - 1; i >= 0 && lastCommit == null; i--) {
        new WalFetch(archive, scratch, size, secrets).one(segments.get(i));
        lastCommit = WalFetch.lastTransactionEnd(scratch, List.of(segments.get(i)), waldump);
      }
    } catch (dev.savepoint.core.CryptoException | dev.savepoint.core.ConfigurationException cannotDecode) {
      LOG.warn("the recoverable window of plan '{}' ends when its newest WAL was stored ({}), not at its newest commit: "
          + "{}", plan, chain.durableUntil(), cannotDecode.getMessage());
      return chain.durableUntil();
    } finally {
      emptyDirectory(scratch);
      Files.deleteIfExists(scratch);
    }
    Instant end = lastCommit == null ? base.finishedAt() : lastCommit;
    if (chain.gap() == null) {
      // An idle server writes nothing new: the streamer's heartbeat (at time T, nothing written after position L)
      // proves nothing was committed between the newest commit and T — also when WAL without a commit (a checkpoint,
      // autovacuum's bookkeeping) arrived after it: a commit after L would have been written after T, and the
      // newest commit in the chain is before T.
      Optional<WalArchive.Heartbeat> beat = chain.heartbeat();
      if (beat.isPresent() && WalSegment.parseLsn(beat.get().durableLsn()) <= chain.durableLsn()
          && beat.get().at().isAfter(end)) {
        end = beat.get().at();
      }
    }
    return end.isBefore(base.finishedAt()) ? base.finishedAt() : end;
  }

  private static String describe(Window w) {
    return w.from() + " to " + w.to();
  }

  /**
   * The WAL files from a base backup's start, up to the first gap, and until when they make recovery possible; with
   * the streamer's heartbeat as read just before the files were listed, so that it never speaks of WAL the list lacks.
   */
  private record Chain(List<WalArchive.Entry> files, Instant durableUntil, long durableLsn, @Nullable String gap,
      Optional<WalArchive.Heartbeat> heartbeat) {}

  private Chain chain(Manifest base) throws IOException {
    Map<String, Object> facts = base.source().facts();
    long size = Facts.number(facts, "walSegmentSize").longValue();
    int timeline = Facts.number(facts, "timeline").intValue();
    WalSegment first = WalSegment.containing(timeline, WalSegment.parseLsn(String.valueOf(facts.get("startLsn"))), size);
    Optional<WalArchive.Heartbeat> heartbeat = archive.lastHeartbeat(); // before the listing: see Chain
    TreeMap<String, WalArchive.Entry> entries = archive.entries();
    // The path recovery follows (recovery_target_timeline = 'latest'): the base backup's timeline until the newest
    // timeline descending from it branched off, and so on — never another branch's segments of the same number.
    Map<Integer, Map<Integer, Long>> histories = histories(entries);
    int target = this.timeline != null ? this.timeline
        : targetTimeline(timeline, WalSegment.parseLsn(String.valueOf(facts.get("startLsn"))), histories);
    Map<Integer, Long> path = target == timeline ? Map.of() : histories.getOrDefault(target, Map.of());
    TreeMap<Long, WalArchive.Entry> byNumber = new TreeMap<>();
    List<WalArchive.Entry> files = new ArrayList<>();
    for (Map.Entry<String, WalArchive.Entry> e : entries.entrySet()) {
      String name = e.getKey();
      if (name.endsWith(".history")) {
        files.add(e.getValue());
        continue;
      }
      boolean partial = name.endsWith(".partial");
      WalSegment s = WalSegment.parse(partial ? name.substring(0, name.length() - 8) : name, size);
      if (s == null || s.number() < first.number() || s.timeline() != timelineOf(s.number(), timeline, target, path,
          size)) {
        continue;
      }
      WalArchive.Entry existing = byNumber.get(s.number());
      if (existing == null || existing.name().endsWith(".partial") && !partial) { // the complete segment wins
        byNumber.put(s.number(), e.getValue());
      }
    }
    Instant durableUntil = base.finishedAt();
    String gap = null;
    long expected = first.number();
    for (Map.Entry<Long, WalArchive.Entry> e : byNumber.entrySet()) {
      if (e.getKey() != expected) {
        gap = new WalSegment(timeline, expected, size).name();
        break;
      }
      files.add(e.getValue());
      if (e.getValue().storedAt().isAfter(durableUntil)) {
        durableUntil = e.getValue().storedAt();
      }
      expected++;
      if (e.getValue().name().endsWith(".partial")) {
        break; // nothing durable follows a partial segment on its timeline
      }
    }
    long end = 0;
    if (byNumber.isEmpty() || byNumber.firstKey() != first.number()) {
      gap = first.name();
      durableUntil = base.finishedAt();
    } else {
      WalArchive.Entry last = files.get(files.size() - 1);
      WalSegment lastSegment = last.segment(size);
      end = last.name().endsWith(".partial") ? lastSegment.startLsn() + last.artifact().rawBytes()
          : lastSegment.endLsn();
    }
    if (end > 0 && gap == null) {
      // An idle server writes nothing new: the streamer's heartbeat at the chain's very end keeps it current.
      Optional<WalArchive.Heartbeat> beat = heartbeat;
      if (beat.isPresent() && WalSegment.parseLsn(beat.get().durableLsn()) == end
          && beat.get().at().isAfter(durableUntil)) {
        durableUntil = beat.get().at();
      }
    }
    return new Chain(files, durableUntil, end, gap, heartbeat);
  }

  /**
   * The base backups from which recovery can reach the timeline it follows — the archive's newest (as
   * recovery_target_timeline = 'latest' follows), or the one {@link #onTimeline} named: after an in-place
   * point-in-time recovery, a base backup taken on the old timeline after the point the new one branched off cannot —
   * PostgreSQL would refuse to start on it — and one taken on the new timeline cannot go back to the old.
   */
  private List<Manifest> reachingTheTimeline(List<Manifest> bases) throws IOException {
    Map<Integer, Map<Integer, Long>> histories = histories(archive.entries());
    int newest = histories.keySet().stream().max(Integer::compare).orElse(0);
    List<Manifest> reaching = new ArrayList<>();
    for (Manifest m : bases) {
      int on = Facts.number(m.source().facts(), "timeline").intValue();
      long start = WalSegment.parseLsn(String.valueOf(m.source().facts().get("startLsn")));
      Long leftAt = timeline == null ? null : histories.getOrDefault(timeline, Map.of()).get(on);
      if (timeline == null ? newest <= on || targetTimeline(on, start, histories) == newest
          : on == timeline || leftAt != null && leftAt >= start) {
        reaching.add(m);
      }
    }
    if (reaching.isEmpty() && timeline != null) {
      throw new RestoreException("no base backup of plan '" + plan + "' can reach timeline " + timeline + " (timelines "
          + "in the archive: " + timelines(bases, histories) + "; a base backup reaches its own timeline and those "
          + "that branched off it after it began)");
    }
    if (reaching.isEmpty()) {
      throw new RestoreException("no base backup of plan '" + plan + "' can reach its newest timeline " + newest
          + " (every one was taken on an older timeline after the newest branched off): take a base backup now");
    }
    return reaching;
  }

  private static java.util.SortedSet<Integer> timelines(List<Manifest> bases,
      Map<Integer, Map<Integer, Long>> histories) {
    java.util.SortedSet<Integer> all = new java.util.TreeSet<>(histories.keySet());
    bases.forEach(m -> all.add(Facts.number(m.source().facts(), "timeline").intValue()));
    return all;
  }

  /**
   * The timeline recovery from a base backup on {@code timeline} starting at {@code startLsn} ends on: the highest
   * timeline whose history leaves {@code timeline} at or after the start (as {@code recovery_target_timeline =
   * 'latest'} picks, among those the base backup can reach), else the base backup's own.
   */
  static int targetTimeline(int timeline, long startLsn, Map<Integer, Map<Integer, Long>> histories) {
    int target = timeline;
    for (Map.Entry<Integer, Map<Integer, Long>> h : histories.entrySet()) {
      Long leftAt = h.getValue().get(timeline);
      if (h.getKey() > target && leftAt != null && leftAt >= startLsn) {
        target = h.getKey();
      }
    }
    return target;
  }

  /**
   * The timeline whose segment {@code number} recovery reads on the way from {@code base} to {@code target}: the
   * segment holding a switch point already belongs to the timeline switched to. {@code path}: the target's history.
   */
  static int timelineOf(long number, int base, int target, Map<Integer, Long> path, long size) {
    int current = base;
    while (current != target) {
      Long leftAt = path.get(current);
      if (leftAt == null || number < leftAt / size) {
        return current;
      }
      int next = target;
      for (int t : path.keySet()) { // the next ancestor on the path: the lowest timeline above this one
        if (t > current && t < next) {
          next = t;
        }
      }
      current = next;
    }
    return current;
  }

  /** Every timeline history in {@code entries} that this process can read: timeline to (ancestor to switch LSN). */
  private Map<Integer, Map<Integer, Long>> histories(Map<String, WalArchive.Entry> entries) throws IOException {
    Map<Integer, Map<Integer, Long>> histories = new java.util.HashMap<>();
    for (Map.Entry<String, WalArchive.Entry> e : entries.entrySet()) {
      if (e.getKey().endsWith(".history")) {
        try (InputStream in = archive.open(e.getValue(), repository.secrets())) {
          histories.put(Integer.parseUnsignedInt(e.getKey().substring(0, 8), 16), WalRetention.parseHistory(
              new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8)));
        } catch (dev.savepoint.core.CryptoException | IllegalArgumentException unreadable) {
          LOG.warn("timeline history {} cannot be read ({}): its timeline is not followed", e.getKey(),
              unreadable.getMessage());
        }
      }
    }
    return histories;
  }

  /**
   * Restores to {@code target} ({@code null}: the newest durable WAL) into {@code directory}, which must be
   * empty or absent. Refuses, before writing, a target outside the recoverable window.
   */
  public Result restore(@Nullable Instant target, Path directory, Secrets secrets) throws IOException {
    return restore(target, null, directory, secrets);
  }

  /**
   * Restores to the WAL position {@code lsn} (e.g. {@code 0/3A000060}, as {@code pg_current_wal_lsn()} shows it):
   * recovery replays up to and including the record there. Refuses, before writing, a position before the end of
   * every base backup or past the durable WAL.
   */
  public Result restoreToLsn(String lsn, Path directory, Secrets secrets) throws IOException {
    long position;
    try {
      position = WalSegment.parseLsn(lsn);
    } catch (RuntimeException e) {
      throw new RestoreException("not a WAL position: '" + lsn + "' (expected e.g. 0/3A000060)");
    }
    return restore(null, position, directory, secrets);
  }

  private Result restore(@Nullable Instant target, @Nullable Long lsn, Path directory, Secrets secrets) throws IOException {
    List<Manifest> bases = reachingTheTimeline(baseBackups());
    Manifest base = null;
    for (Manifest m : bases) {
      if (lsn != null ? WalSegment.parseLsn(String.valueOf(m.source().facts().get("stopLsn"))) <= lsn
          : target == null || !m.finishedAt().isAfter(target)) {
        base = m;
      }
    }
    if (base == null) {
      throw new RestoreException("no base backup of plan '" + plan + "' ended before " + (lsn != null
          ? "WAL position " + WalSegment.lsn(lsn) + " (the oldest ends at " + bases.get(0).source().facts()
              .get("stopLsn") + ")" : target + "; the recoverable window is " + describe(window())));
    }
    Chain chain = chain(base);
    if (lsn != null && lsn >= chain.durableLsn()) {
      throw new RestoreException("cannot restore to WAL position " + WalSegment.lsn(lsn) + ": the WAL of plan '" + plan
          + "' is durable only up to " + WalSegment.lsn(chain.durableLsn()) + (chain.gap() == null ? ""
              : " (missing segment " + missing(chain.gap()) + ")") + ". Nothing was written");
    }
    if (target == null && lsn == null && chain.gap() != null) {
      // Without a target, recovery would stop at the gap and promote: a silent loss of everything after it.
      throw new RestoreException("cannot restore plan '" + plan + "' to its newest WAL: segment " + missing(chain.gap())
          + " is missing, so recovery would stop there; restore to a time up to " + chain.durableUntil()
          + " (--at), or find the segment. Nothing was written");
    }
    // The stored time bounds the proven end from above: a target after it is refused before anything is written.
    if (target != null && target.isAfter(chain.durableUntil())) {
      throw pastTheEnd(target, chain, base, chain.durableUntil());
    }
    int major = Integer.parseInt(String.valueOf(base.source().facts().get("serverVersion")).split("[.\\s]")[0]);
    // pg_waldump of another major reads nothing of this WAL and fails: "no transaction after the target" would then
    // restore past it, silently. Only the server's own major's pg_waldump decides, found before anything is written.
    String waldump = target == null ? null : PgTools.findExact("pg_waldump", major);
    Path dir = directory.toAbsolutePath().normalize();
    if (Files.exists(dir)) {
      try (var entries = Files.list(dir)) {
        if (entries.findAny().isPresent()) {
          throw new dev.savepoint.core.TargetNotEmptyException("data directory " + dir + " is not empty; choose an empty or new one");
        }
      }
    }
    Files.createDirectories(dir);
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
    try {
      ArtifactRecord tar = base.artifact(BaseBackupSource.ARTIFACT).orElseThrow(() ->
          new RestoreException("base backup has no " + BaseBackupSource.ARTIFACT));
      try (InputStream in = repository.openRaw(tar, secrets)) {
        // A base backup streamed by Savepoint holds no links (pg_basebackup sends pg_wal as a directory, and one tar
        // means no tablespaces): a link could only send the server's writes, or the ownership change, out of PGDATA.
        Tar.extract(in, dir, false);
      }
      long size = Facts.number(base.source().facts(), "walSegmentSize").longValue();
      Path wal = dev.savepoint.core.internal.OwnerOnly.createDirectories(dir.resolve(WAL_DIR));
      long stopLsn = WalSegment.parseLsn(String.valueOf(base.source().facts().get("stopLsn")));
      List<WalArchive.Entry> fetched = new WalFetch(archive, wal, size, secrets).needed(chain.files(), target, lsn,
          stopLsn, waldump);
      // A base backup of a standby holds its standby.signal: the restored cluster would wait for a primary for ever
      // instead of recovering to the target and promoting.
      Files.deleteIfExists(dir.resolve("standby.signal"));
      Files.writeString(dir.resolve("recovery.signal"), "");
      String reached = lsn != null ? "WAL position " + WalSegment.lsn(lsn) : target == null ? "latest" : target.toString();
      Instant requested = target; // checked after recovery even where all WAL is replayed (nothing must end after it)
      if (target != null) {
        // PostgreSQL stops at the first transaction after the target; with none in the WAL, recovery would end "before
        // the configured target was reached" and the server refuse to start. The state at the target is then the
        // state at the end of the (durable) WAL: recover all of it.
        Instant last = WalFetch.lastTransactionEnd(wal, fetched, java.util.Objects.requireNonNull(waldump)); // found for a time
        if (last == null || !last.isAfter(target)) {
          // No commit after it in the durable WAL: only the proven end (the newest commit, or an idle streamer's
          // heartbeat) says whether nothing was committed between it and the target.
          Instant provenEnd = provenEnd(chain, base, secrets);
          if (target.isAfter(provenEnd)) {
            throw pastTheEnd(target, chain, base, provenEnd); // the directory is emptied on the way out
          }
          reached = target + " (no transaction ended after it: all durable WAL replayed"
              + (last == null ? ")" : ", the last one at " + last + ")");
          target = null;
        }
      }
      // Archiving stays as the cluster had it: an in-place recovery of production must archive again once promoted.
      StringBuilder conf = new StringBuilder("\n# Written by savepoint: point-in-time recovery of plan '" + plan + "'\n")
          .append("restore_command = 'cp \"").append(wal).append("/%f\" \"%p\"'\n")
          .append("recovery_end_command = '").append(TIDY_COMMAND.replace("'", "''")).append("'\n")
          .append("recovery_target_action = 'promote'\n")
          .append("recovery_target_timeline = '").append(timeline == null ? "latest" : timeline).append("'\n");
      if (lsn != null) {
        conf.append("recovery_target_lsn = '").append(WalSegment.lsn(lsn)).append("'\n");
      } else if (target != null) {
        conf.append("recovery_target_time = '").append(java.time.format.DateTimeFormatter
            .ofPattern("yyyy-MM-dd HH:mm:ss.SSSSSS").withZone(java.time.ZoneOffset.UTC).format(target)).append("+00'\n");
      }
      Path autoConf = dir.resolve("postgresql.auto.conf");
      String existing = Files.exists(autoConf) ? Files.readString(autoConf) : "";
      Files.writeString(autoConf, withRecoverySettings(existing, conf.toString(), Instant.now()));
      LocalCluster.giveToServerUser(dir);
      return new Result(base.id(), fetched.size(), reached, dir, major, requested);
    } catch (IOException | RuntimeException e) {
      // The directory was empty: a failed restore (a damaged WAL file, an unreadable segment) leaves it so.
      emptyDirectory(dir);
      throw e;
    }
  }

  private static void emptyDirectory(Path dir) {
    try (var files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).filter(p -> !p.equals(dir)).forEach(p -> p.toFile().delete());
    } catch (IOException | RuntimeException e) {
      LOG.warn("could not empty {} after the failed restore: {}", dir, e.getMessage());
    }
  }

  private RestoreException pastTheEnd(Instant target, Chain chain, Manifest base, Instant end) throws IOException {
    return new RestoreException("cannot restore to " + target + ": the WAL of plan '" + plan + "' is proven durable only "
        + "until " + end + (chain.gap() == null ? " (its newest commit in the archive, or the streamer's last report "
            + "that nothing newer was written: it reports every 30 s)" : " (missing segment " + missing(chain.gap())
            + ")") + "; the recoverable window is " + window().from() + " to " + end + ". For the newest state, "
        + "restore latest instead of a time. Nothing was written");
  }

  /**
   * What the recovered server runs once recovery has ended (its {@code recovery_end_command}, in the data directory):
   * removes the fetched WAL and comments out this recovery's settings, so the promoted cluster — production, after
   * an in-place recovery — keeps no Savepoint folder and no active recovery setting in its configuration or in the
   * base backups taken of it later. A failure leaves only a warning in the server log (PostgreSQL starts anyway).
   */
  static final String TIDY_COMMAND = "rm -rf ./" + WAL_DIR + " && sed -i -e '/^# Written by savepoint/,$ s/^[^#]/"
      + "# removed by savepoint after recovery: &/' postgresql.auto.conf";

  /** Settings that steer a recovery: an earlier one's, left in the base backup, must not steer this one. */
  private static final java.util.regex.Pattern RECOVERY_SETTING = java.util.regex.Pattern.compile(
      "^\\s*(restore_command|recovery_end_command|recovery_target\\w*)\\s*(=|\\s).*$",
      java.util.regex.Pattern.CASE_INSENSITIVE);

  /**
   * {@code existing} (a restored postgresql.auto.conf) with every recovery setting it holds — an earlier restore's,
   * Savepoint's or another tool's, which a base backup of a recovered cluster carries — commented out and marked, and
   * the lines of an earlier Savepoint recovery block too; then {@code block}. So a later restore never stops at an
   * earlier incident's target ("multiple recovery targets", or a silent stop at the old time).
   */
  static String withRecoverySettings(String existing, String block, Instant now) {
    StringBuilder out = new StringBuilder();
    boolean ours = false;
    for (String line : existing.split("\n", -1)) {
      if (line.startsWith("# Written by savepoint")) {
        ours = true;
        out.append(line.replace("# Written by savepoint", "# Was written by savepoint")).append('\n');
        continue;
      }
      ours &= !line.isBlank();
      boolean setting = !line.strip().startsWith("#") && !line.isBlank();
      if (setting && (ours || RECOVERY_SETTING.matcher(line).matches())) {
        out.append("# removed by savepoint restore ").append(now).append(": ").append(line).append('\n');
      } else if (!line.isEmpty() || out.length() > 0) {
        out.append(line).append('\n');
      }
    }
    String kept = out.toString().replaceAll("\n+$", "\n");
    return kept + block;
  }

  /** What {@link #check} proved: the segment the server switched away from, and how long until it was durable. */
  public record ArchivingCheck(String segment, Duration took) {}

  /**
   * Proves that archiving works now (pgBackRest's {@code check}): makes {@code source} write a little WAL and switch
   * to a new segment, then waits up to {@code timeout} until the segment it left is durable in this plan's archive —
   * by a streamer or by {@code archive_command}. Throws {@link RestoreException} naming the segment when it is not.
   * Run it after setting archiving up, and right after a recovery, before trusting the next incident to it.
   */
  public ArchivingCheck check(dev.savepoint.postgres.PostgresUrl source, Duration timeout) throws IOException {
    String segment;
    java.sql.Connection c;
    try {
      c = source.connect();
    } catch (java.sql.SQLException e) {
      throw new dev.savepoint.core.SourceException("cannot connect to " + source + ": " + e.getMessage(), e);
    }
    try (c; java.sql.Statement s = c.createStatement()) {
      s.execute("SELECT txid_current()"); // some WAL to switch away from, even on an idle server
      try (java.sql.ResultSet r = s.executeQuery("SELECT pg_walfile_name(pg_switch_wal())")) {
        r.next();
        segment = r.getString(1);
      }
    } catch (java.sql.SQLException e) {
      if ("42501".equals(e.getSQLState())) { // insufficient privilege
        throw new dev.savepoint.core.ConfigurationException("cannot switch the WAL of " + source + ": the role needs "
            + "EXECUTE on pg_switch_wal() (GRANT EXECUTE ON FUNCTION pg_switch_wal() TO …): " + e.getMessage());
      }
      throw new dev.savepoint.core.SourceException("cannot switch the WAL of " + source + " (run the check against the "
          + "primary): " + e.getMessage(), e);
    }
    Instant start = Instant.now();
    Instant deadline = start.plus(timeout);
    while (true) {
      if (archive.entry(segment).isPresent()) {
        return new ArchivingCheck(segment, Duration.between(start, Instant.now()));
      }
      if (Instant.now().isAfter(deadline)) {
        throw new RestoreException("WAL segment " + segment + " of " + source + " is not durable in plan '" + plan
            + "' after " + timeout + ": archiving does not work (is `savepoint wal stream` running for this plan, or "
            + "archive_command set to `savepoint wal push`?); a recovery now would stop before it");
      }
      try {
        Thread.sleep(500);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new java.io.InterruptedIOException("interrupted while waiting for " + segment);
      }
    }
  }

  /**
   * Deletes the WAL that no kept base backup needs, timeline by timeline ({@link WalRetention}: a backup's own
   * timeline from its start, and every timeline that branched from it after it began); run it after pruning base
   * backups. Returns the deleted names; {@code dryRun} only lists them. Without base backups nothing is deleted.
   */
  public List<String> pruneWal(boolean dryRun) throws IOException {
    List<WalRetention.Start> starts = new ArrayList<>();
    long size = 0;
    List<Manifest> bases = baseBackups();
    if (bases.isEmpty()) {
      return List.of(); // nothing says which WAL is needed: nothing goes
    }
    for (Manifest base : bases) {
      Map<String, Object> facts = base.source().facts();
      size = Facts.number(facts, "walSegmentSize").longValue();
      starts.add(new WalRetention.Start(Facts.number(facts, "timeline").intValue(),
          WalSegment.parseLsn(String.valueOf(facts.get("startLsn")))));
    }
    Map<Integer, Map<Integer, Long>> histories = histories(archive.entries());
    return archive.deleteUnneeded(new WalRetention(starts, histories), size, dryRun);
  }

  /**
   * A restore drill of the plan: restores to {@code target} (null: the newest durable WAL) into a new directory
   * under {@code scratch}, starts PostgreSQL on it on a free port until it has recovered and promoted, stops it and
   * deletes the directory, and records the report (time to a running database, the last replayed commit) with
   * the base backup used. A cluster that does not come up is a failed report, not an exception.
   */
  public dev.savepoint.postgres.RestoreDrill.Report drill(@Nullable Instant target, Path scratch, Secrets secrets)
      throws IOException {
    Instant started = Instant.now();
    Path dir = Files.createDirectories(scratch).resolve("savepoint-pitr-drill-" + Long.toHexString(System.nanoTime()));
    Result restored = restore(target, dir, secrets);
    dev.savepoint.postgres.RestoreDrill.Report report;
    try {
      LocalCluster.Recovered recovered = LocalCluster.verifyRecovery(dir, restored.serverMajor(),
          Duration.ofMinutes(30));
      long millis = Duration.between(started, Instant.now()).toMillis();
      Optional<String> shortfall = restored.shortfall(recovered);
      boolean passed = shortfall.isEmpty();
      report = new dev.savepoint.postgres.RestoreDrill.Report(plan, restored.baseBackupId(), started, millis, 0, 0,
          passed, (passed ? "recovered to " + restored.target() + " and promoted; last replayed commit "
              + recovered.lastReplayedCommit() : shortfall.get())
              + "; base backup and " + restored.walFiles() + " WAL file(s)"
              + (recovered.neutralised().isEmpty() ? "" : "; not run during the drill: "
                  + String.join(", ", recovered.neutralised())));
    } catch (RestoreException e) {
      report = new dev.savepoint.postgres.RestoreDrill.Report(plan, restored.baseBackupId(), started,
          Duration.between(started, Instant.now()).toMillis(), 0, 0, false, String.valueOf(e.getMessage()));
    } finally {
      try (var files = Files.walk(dir)) {
        files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
    dev.savepoint.postgres.RestoreDrill.record(repository, repository.manifest(plan, restored.baseBackupId()), report);
    return report;
  }

  /**
   * An {@link Event.Type#RPO_BREACHED} event when the newest durable WAL is older than {@code rpo} at {@code now}
   * (an idle server's streamer keeps it current with heartbeats; a stopped streamer lets it age), or when a gap
   * cuts the chain; empty while the plan meets its RPO.
   */
  public Optional<Event> rpoBreach(Duration rpo, Instant now) throws IOException {
    List<String> gaps = gaps();
    Instant durable = window().to();
    Duration age = Duration.between(durable, now);
    if (gaps.isEmpty() && age.compareTo(rpo) <= 0) {
      return Optional.empty();
    }
    return Optional.of(new Event(Event.Type.RPO_BREACHED, plan, null, now, gaps.isEmpty()
        ? "newest durable WAL of plan '" + plan + "' is " + age.toSeconds() + " s old (at " + durable + "), RPO is "
            + rpo.toSeconds() + " s: is the streamer running?"
        : "WAL of plan '" + plan + "' has a gap (" + String.join(", ", gaps) + "): recoverable only until " + durable,
        Map.of("ageSeconds", age.toSeconds(), "rpoSeconds", rpo.toSeconds())));
  }

  /**
   * The WAL chain's gaps after the oldest base backup (empty when it is complete to the newest segment): each
   * the first missing segment's name, with the reason when it is stored but refused.
   */
  public List<String> gaps() throws IOException {
    List<String> gaps = new ArrayList<>();
    List<Manifest> bases = considered();
    for (Manifest base : bases.stream().sorted(Comparator.comparing(Manifest::startedAt)).toList()) {
      String gap = chain(base).gap();
      String named = gap == null ? null : missing(gap);
      if (named != null && !gaps.contains(named)) {
        gaps.add(named);
      }
    }
    gaps.addAll(missingForks(Facts.number(bases.get(0).source().facts(), "walSegmentSize").longValue()));
    // A stored file whose record fails its checks is missing too, also where it would only shorten the chain's end.
    archive.damaged().forEach((name, reason) -> {
      String named = name + " (stored, but refused: " + reason + ")";
      if (!gaps.contains(named)) {
        gaps.add(named);
      }
    });
    return gaps;
  }

  /**
   * Timelines the archive holds segments of but not the one their history says they begin in (the fork segment): a
   * restore across the switch would replay the older timeline's past the fork. What a streamer that resumed after
   * the archive's newest segment, rather than at the fork, left behind.
   */
  private List<String> missingForks(long size) throws IOException {
    TreeMap<String, WalArchive.Entry> entries = archive.entries();
    List<String> missing = new ArrayList<>();
    for (Map.Entry<String, WalArchive.Entry> e : entries.entrySet()) {
      if (!e.getKey().endsWith(".history")) {
        continue;
      }
      int timeline = Integer.parseUnsignedInt(e.getKey().substring(0, 8), 16);
      boolean holdsTimeline = entries.keySet().stream().anyMatch(n -> n.length() >= 24 && !n.endsWith(".history")
          && Integer.parseUnsignedInt(n.substring(0, 8), 16) == timeline);
      if (!holdsTimeline) {
        continue;
      }
      long fork;
      try (InputStream in = archive.open(e.getValue(), repository.secrets())) {
        fork = WalStreamer.forkPoint(new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8));
      } catch (dev.savepoint.core.CryptoException noKey) {
        continue; // cannot read the history without the plan's key: the restore will, and fails loudly if it must
      }
      String first = WalSegment.containing(timeline, fork, size).name();
      if (!entries.containsKey(first) && !entries.containsKey(first + ".partial")) {
        missing.add(first + " (timeline " + timeline + " begins in it, at " + WalSegment.lsn(fork) + ")");
      }
    }
    return missing;
  }

  /** The segment's name, and why it counts as missing when its record is there but fails its checks. */
  private String missing(String segment) throws IOException {
    String reason = archive.damaged().get(segment);
    return reason == null ? segment : segment + " (stored, but refused: " + reason + ")";
  }

  /** What {@link #readData} found: how much it read, and each file that failed, with the reason. */
  public record DataCheck(int walFilesRead, int walFiles, int baseBackupsRead, Map<String, String> damaged) {}

  /**
   * Reads back what a restore would: every stored WAL file (decoded, each chunk and the whole checked against its
   * record's digests) and every base backup (through {@link dev.savepoint.core.Verifiers#standard(boolean, dev.savepoint.core.Secrets) a full
   * verification}), like {@code pgbackrest verify} and {@code restic check --read-data}. With {@code fraction} below
   * 1, a random sample of that share of the WAL files (every base backup is still read, unless not {@code
   * baseBackups}). A file whose data object is missing, changed or undecodable is named in {@link DataCheck#damaged()},
   * as is a record that fails its checks.
   */
  public DataCheck readData(Secrets secrets, double fraction, boolean baseBackups) throws IOException {
    if (!(fraction > 0 && fraction <= 1)) {
      throw new IllegalArgumentException("the share of WAL files to read must be above 0 and at most 1, not " + fraction);
    }
    Map<String, String> damaged = new TreeMap<>(archive.damaged());
    List<WalArchive.Entry> entries = new ArrayList<>(archive.entries().values());
    java.util.Random random = new java.util.Random();
    int read = 0;
    for (WalArchive.Entry entry : entries) {
      if (fraction < 1 && random.nextDouble() >= fraction) {
        continue;
      }
      read++;
      try (InputStream in = archive.open(entry, secrets)) {
        in.transferTo(java.io.OutputStream.nullOutputStream());
      } catch (dev.savepoint.core.ObjectNotFoundException e) {
        damaged.put(entry.name(), "its data object " + entry.artifact().key() + " is missing");
      } catch (IntegrityException e) {
        damaged.put(entry.name(), e.getMessage());
      }
    }
    int bases = 0;
    for (Manifest base : baseBackups ? repository.list(plan) : List.<Manifest>of()) {
      if (!base.source().type().equals(BaseBackupSource.TYPE)) {
        continue;
      }
      bases++;
      for (dev.savepoint.core.VerificationResult r : repository.verify(base,
          dev.savepoint.core.Verifiers.standard(true, secrets))) {
        if (!r.passed()) {
          damaged.put("base backup " + base.id(), r.check() + ": " + r.detail());
          break;
        }
      }
    }
    return new DataCheck(read, entries.size(), bases, damaged);
  }
}
