package dev.savepoint.report;

import dev.savepoint.core.ArtifactRecord;
import dev.savepoint.core.IntegrityException;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.Repository;
import dev.savepoint.core.security.AuditLog;
import dev.savepoint.postgres.RestoreDrill;
import dev.savepoint.postgres.pitr.BaseBackupSource;
import dev.savepoint.postgres.pitr.PointInTimeRestore;
import dev.savepoint.postgres.pitr.WalArchive;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import org.jspecify.annotations.Nullable;

/**
 * A repository's state at one moment, as {@code savepoint report} prints it, its {@code --json} holds it and the status
 * page ({@link StatusPage}) draws it: per plan the backups, the stretches without one longer than the RPO, restore
 * drills, verifications, recoverable windows of point-in-time plans and a monthly cost estimate; and the one list of
 * what needs attention, each item with the command that fixes or investigates it. Computed once, so the three views
 * cannot disagree.
 */
public record StatusReport(String repository, Instant now, Duration rto, String currency, List<PlanStatus> plans,
    List<Attention> attention) {

  /** Something overdue or failed; {@code plan} is null for the repository as a whole (its audit log). */
  public record Attention(@Nullable String plan, String message, String command) {
    /** As the text report prints it: {@code plan: message}. */
    public String text() {
      return plan == null ? message : plan + ": " + message;
    }
  }

  /** One backup as the report shows it; {@code ownBytes} excludes what it reuses from earlier backups. */
  public record Backup(String id, Instant startedAt, Instant finishedAt, long storedBytes, long ownBytes,
      @Nullable String tier, boolean baseBackup) {}

  /** A stretch longer than the plan's RPO without a backup starting (the last one ends now). */
  public record Gap(Instant from, Instant to) {
    public Duration length() {
      return Duration.between(from, to);
    }
  }

  /** A restore drill: when, of which backup, how long the restore took, the rows it checked, whether it passed. */
  public record Drill(Instant at, String backupId, Duration restoreTime, long rowsChecked, boolean passed,
      String detail) {}

  /** What a point-in-time plan recovers to on one timeline. */
  public record Window(int timeline, Instant from, Instant to) {}

  /**
   * The monthly estimate of one plan: {@code bytes} held (backups' own bytes and archived WAL) in {@code storageClass}
   * at its storage price, PUT requests at the pace of the last 30 days; retrieval of the newest backup once (archive
   * classes charge it) and the hours until archived objects are readable. Amounts are 0 where the class is unknown.
   */
  public record Cost(@Nullable String storageClass, boolean priced, long bytes, double storagePerMonth,
      long putsPerMonth, double requestsPerMonth, double retrievalPerRestore, double thawHours) {
    public double perMonth() {
      return storagePerMonth + requestsPerMonth;
    }
  }

  /** One plan's state. {@code windowError} says why a point-in-time plan has no window. */
  public record PlanStatus(String plan, Duration rpo, ZoneId zone, List<Backup> backups, List<Gap> gaps,
      List<Drill> drills, @Nullable Instant lastVerified, List<Window> windows, List<String> walGaps,
      @Nullable String windowError, Cost cost) {

    public Optional<Backup> newest() {
      return backups.isEmpty() ? Optional.empty() : Optional.of(backups.get(backups.size() - 1));
    }

    public Optional<Drill> newestDrill() {
      return newestOf(drills);
    }

    public Optional<Instant> lastPassedDrill() {
      return lastPassedOf(drills);
    }

    public long storedBytes() {
      return backups.stream().mapToLong(Backup::storedBytes).sum();
    }

    public boolean pointInTime() {
      return backups.stream().anyMatch(Backup::baseBackup);
    }
  }

  /** A plan's own cadence (from its plan file); null fields take the report's defaults. */
  public record Cadence(@Nullable Duration rpo, @Nullable Duration verifyEvery, @Nullable Duration drillEvery,
      @Nullable ZoneId zone) {}

  /** What a report checks against. Defaults: RPO 1 day, verify weekly, drill monthly, WAL 15 min, RTO 1 h. */
  public static final class Options {
    private Duration maxAge = Duration.ofDays(1);
    private Duration verifyEvery = Duration.ofDays(7);
    private Duration drillEvery = Duration.ofDays(31);
    private Duration maxWalAge = Duration.ofMinutes(15);
    private Duration rto = Duration.ofHours(1);
    private ZoneId zone = ZoneId.systemDefault();
    private final Map<String, Cadence> plans = new LinkedHashMap<>();
    private PriceTable prices = PriceTable.defaults();
    private @Nullable String repositoryOptions;
    private @Nullable String planFile;

    /** The newest backup older than this is overdue, unless the plan's cadence says otherwise. */
    public Options maxAge(Duration d) {
      maxAge = notNegative(d, "the maximum backup age");
      return this;
    }

    public Options verifyEvery(Duration d) {
      verifyEvery = notNegative(d, "the verification interval");
      return this;
    }

    public Options drillEvery(Duration d) {
      drillEvery = notNegative(d, "the drill interval");
      return this;
    }

    /** For point-in-time plans: the newest durable WAL older than this (or a gap in it) is overdue. */
    public Options maxWalAge(Duration d) {
      maxWalAge = notNegative(d, "the maximum WAL age");
      return this;
    }

    /** The recovery time objective drills and archive thaw times are held against. */
    public Options rto(Duration d) {
      rto = notNegative(d, "the RTO");
      return this;
    }

    /** {@code d}, refused when negative (zero is allowed: everything is then overdue, as a test may want). */
    private static Duration notNegative(Duration d, String what) {
      if (d.isNegative()) {
        throw new IllegalArgumentException(what + " must not be negative, was " + d);
      }
      return d;
    }

    /** The zone times are shown in where a plan names none. */
    public Options zone(ZoneId z) {
      zone = z;
      return this;
    }

    /** A plan's own cadence; a plan named here that never backed up is reported as the most overdue of all. */
    public Options plan(String name, Cadence cadence) {
      plans.put(name, cadence);
      return this;
    }

    public Options prices(PriceTable table) {
      prices = table;
      return this;
    }

    /**
     * What the commands in attention items say after {@code savepoint <command>} to reach the repository: the
     * {@code --repo} option and the key options the report itself was given (e.g. {@code --repo s3://b/p
     * --passphrase-env PASS}), so that they run as pasted. Default: {@code --repo <its description>}.
     */
    public Options repositoryOptions(String options) {
      repositoryOptions = options;
      return this;
    }

    /** The plan file the plans come from, for the command that runs a plan that has no backup. */
    public Options planFile(String path) {
      planFile = path;
      return this;
    }
  }

  /** Reads {@code repository} (manifests, drill reports, the audit log, WAL archives) and computes the report. */
  public static StatusReport of(Repository repository, Options options, Instant now) throws IOException {
    String repo = options.repositoryOptions != null ? options.repositoryOptions : "--repo " + repository.describe();
    List<Attention> attention = new ArrayList<>();
    Map<String, Instant> lastVerified = new LinkedHashMap<>();
    List<AuditLog.Entry> entries;
    try {
      entries = repository.auditLog().verify();
    } catch (IntegrityException broken) {
      // Reported, and the rest goes on from the entries that still read: a planted object in the audit log must
      // not blind the monitoring.
      attention.add(new Attention(null, "audit log: " + broken.getMessage(), "savepoint audit " + repo));
      entries = repository.auditLog().readable();
    }
    for (AuditLog.Entry e : entries) {
      if (e.action().startsWith("verify") && "ok".equals(e.result())) {
        lastVerified.put(e.subject().substring(0, Math.max(0, e.subject().indexOf('/'))), e.time());
      }
    }
    // A plan that never backed up has no folder: it is the most overdue of all, not absent.
    TreeSet<String> names = new TreeSet<>(repository.plans());
    names.addAll(options.plans.keySet());
    if (names.isEmpty()) {
      // An unmounted volume or a wrong prefix looks exactly like this: never an all-clear.
      attention.add(new Attention(null, "the repository holds no plans: is it the right one (a volume not mounted, "
          + "a wrong prefix)?", "savepoint list " + repo));
    }
    List<PlanStatus> plans = new ArrayList<>();
    for (String plan : names) {
      plans.add(plan(repository, plan, options, now, lastVerified.get(plan), repo, attention));
    }
    return new StatusReport(repository.describe(), now, options.rto, options.prices.currency(), List.copyOf(plans),
        List.copyOf(attention));
  }

  private static PlanStatus plan(Repository repository, String plan, Options options, Instant now,
      @Nullable Instant verified, String repo, List<Attention> attention) throws IOException {
    Cadence cadence = options.plans.getOrDefault(plan, new Cadence(null, null, null, null));
    Duration rpo = cadence.rpo() != null ? cadence.rpo() : options.maxAge;
    Duration verifyEvery = cadence.verifyEvery() != null ? cadence.verifyEvery() : options.verifyEvery;
    Duration drillEvery = cadence.drillEvery() != null ? cadence.drillEvery() : options.drillEvery;
    ZoneId zone = cadence.zone() != null ? cadence.zone() : options.zone;
    List<Manifest> manifests = repository.list(plan);
    List<Backup> backups = manifests.stream().map(m -> new Backup(m.id(), m.startedAt(), m.finishedAt(),
        m.storedBytes(), ownBytes(m), m.tier(), m.source().type().equals(BaseBackupSource.TYPE))).toList();
    List<Drill> drills = new ArrayList<>();
    for (Manifest m : manifests) {
      for (RestoreDrill.Report r : RestoreDrill.reports(repository, m)) {
        drills.add(new Drill(r.startedAt(), r.backupId(), Duration.ofMillis(r.restoreMillis()), r.rowsChecked(),
            r.passed(), r.detail()));
      }
    }
    drills.sort(Comparator.comparing(Drill::at));
    String listing = "savepoint list " + repo + " --plan " + plan;
    String drill = "savepoint drill " + repo + " --plan " + plan + " --scratch postgresql://postgres@SCRATCH-HOST/postgres";
    // Safety backups are by-products of restores, checked as they are taken; maintenance rules are for plans
    // someone scheduled.
    boolean byProduct = !manifests.isEmpty() && manifests.stream().allMatch(m -> "safety".equals(m.tier()));
    Optional<Drill> newestDrill = newestOf(drills);
    if (newestDrill.isPresent() && !newestDrill.get().passed()) {
      // The newest drill failed: whatever passed before, today's backups are not proven restorable.
      Drill d = newestDrill.get();
      attention.add(new Attention(plan, "the newest restore drill (" + d.at() + ", backup " + d.backupId()
          + ") failed: " + d.detail(), drill));
    } else if (newestDrill.isPresent() && newestDrill.get().restoreTime().compareTo(options.rto) > 0) {
      // Passed, but a real restore would take longer than the business can wait.
      Drill d = newestDrill.get();
      attention.add(new Attention(plan, "the newest restore drill (" + d.at() + ") took " + d.restoreTime()
          + ", longer than the RTO " + period(options.rto), drill));
    }
    Instant first = manifests.isEmpty() ? null : manifests.get(0).startedAt();
    Instant newest = manifests.isEmpty() ? null : manifests.get(manifests.size() - 1).startedAt();
    // Counted from the last verification, else from the plan's first backup: a plan a day old is not a week overdue.
    if (!byProduct && first != null
        && Duration.between(verified != null ? verified : first, now).compareTo(verifyEvery) > 0) {
      attention.add(new Attention(plan, "not verified within " + period(verifyEvery),
          "savepoint verify " + repo + " --plan " + plan + " --full"));
    }
    if (newest == null) {
      attention.add(new Attention(plan, "no backup at all", "savepoint run --config "
          + (options.planFile != null ? options.planFile : "plans.yaml") + " --plan " + plan));
    } else if (!byProduct && Duration.between(newest, now).compareTo(rpo) > 0) {
      attention.add(new Attention(plan, "newest backup older than " + period(rpo) + " (at " + newest
          + "): is the scheduler running?", listing));
    }
    for (Repository.Damaged d : repository.damaged(plan)) {
      attention.add(new Attention(plan, "backup " + d.id() + " is damaged (" + d.reason() + ")",
          "savepoint verify " + repo + " --plan " + plan + " --full " + d.id()));
    }
    Instant lastPassed = lastPassedOf(drills).orElse(null);
    boolean isPostgres = manifests.stream().anyMatch(m -> m.source().type().equals("postgresql"));
    if (isPostgres && !byProduct && first != null
        && Duration.between(lastPassed != null ? lastPassed : first, now).compareTo(drillEvery) > 0) {
      attention.add(new Attention(plan, "no passed restore drill within " + period(drillEvery), drill));
    }
    List<Window> windows = new ArrayList<>();
    List<String> walGaps = List.of();
    String windowError = null;
    long walBytes = 0;
    long walPuts = 0;
    if (backups.stream().anyMatch(Backup::baseBackup)) {
      PointInTimeRestore pitr = new PointInTimeRestore(repository, plan);
      try {
        for (int timeline : pitr.timelines()) {
          try {
            PointInTimeRestore.Window w = pitr.onTimeline(timeline).window();
            windows.add(new Window(timeline, w.from(), w.to()));
          } catch (IOException noWindow) {
            // A timeline no base backup recovers along (a branch before the oldest kept one): nothing to draw.
          }
        }
        walGaps = pitr.gaps();
        pitr.rpoBreach(options.maxWalAge, now).ifPresent(breach -> attention.add(new Attention(plan,
            breach.message(), "savepoint wal verify " + repo + " --plan " + plan)));
      } catch (IOException e) {
        windowError = String.valueOf(e.getMessage());
        attention.add(new Attention(plan, "no recoverable window: " + windowError,
            "savepoint wal verify " + repo + " --plan " + plan));
      }
      Instant monthAgo = now.minus(Duration.ofDays(30));
      for (WalArchive.Entry e : new WalArchive(repository, plan, List.of()).entries().values()) {
        walBytes += e.artifact().storedBytes();
        walPuts += e.storedAt().isAfter(monthAgo) ? 1 : 0;
      }
    }
    Cost cost = cost(repository, plan, options.prices, manifests, backups, walBytes, walPuts, now);
    if (cost.thawHours() > 0 && cost.thawHours() * 3600 > options.rto.toSeconds() && !manifests.isEmpty()) {
      attention.add(new Attention(plan, cost.storageClass() + " standard thaw " + hours(cost.thawHours()) + " > RTO "
          + period(options.rto), "keep the newest backup in a class readable at once (a copy plan to "
          + "STANDARD or GLACIER_IR), or restore with the EXPEDITED tier where the class has one"));
    }
    return new PlanStatus(plan, rpo, zone, backups, gaps(backups, rpo, now), List.copyOf(drills), verified,
        List.copyOf(windows), walGaps, windowError, cost);
  }

  private static Optional<Drill> newestOf(List<Drill> drills) {
    return drills.stream().max(Comparator.comparing(Drill::at));
  }

  private static Optional<Instant> lastPassedOf(List<Drill> drills) {
    return drills.stream().filter(Drill::passed).map(Drill::at).max(Comparator.naturalOrder());
  }

  /** Every stretch longer than {@code rpo} between two backups' starts, and from the newest to now. */
  static List<Gap> gaps(List<Backup> backups, Duration rpo, Instant now) {
    List<Gap> gaps = new ArrayList<>();
    for (int i = 0; i < backups.size(); i++) {
      Instant from = backups.get(i).startedAt();
      Instant to = i + 1 < backups.size() ? backups.get(i + 1).startedAt() : now;
      if (Duration.between(from, to).compareTo(rpo) > 0) {
        gaps.add(new Gap(from, to));
      }
    }
    return List.copyOf(gaps);
  }

  /**
   * The bytes a backup stored itself: its artifacts in its own directory, and for a bucket backup whose objects are
   * indexed, the indexed bytes in the share of objects it copied (the rest it reuses from earlier backups).
   */
  static long ownBytes(Manifest m) {
    String own = m.plan() + "/" + m.id() + "/";
    long listed = m.artifacts().stream().filter(a -> a.key().startsWith(own)).mapToLong(ArtifactRecord::storedBytes)
        .sum();
    Map<String, Object> facts = m.source().facts();
    long indexed = m.storedBytes() - m.artifacts().stream().mapToLong(ArtifactRecord::storedBytes).sum();
    if (indexed > 0 && facts.get("objectCount") instanceof Number all && all.longValue() > 0
        && facts.get("copiedObjects") instanceof Number copied) {
      listed += indexed * copied.longValue() / all.longValue();
    }
    return listed;
  }

  private static Cost cost(Repository repository, String plan, PriceTable prices, List<Manifest> manifests,
      List<Backup> backups, long walBytes, long walPuts, Instant now) {
    String storageClass = prices.classOf(plan, repository.store().storageClass()).orElse(null);
    long bytes = walBytes + backups.stream().mapToLong(Backup::ownBytes).sum();
    // PUTs at the pace of the last 30 days (extrapolated over a younger plan's life): a part per 8 MiB of each object
    // the backup stored itself, and the manifest, its signature and completion marker.
    Instant monthAgo = now.minus(Duration.ofDays(30));
    List<Manifest> recent = manifests.stream().filter(m -> m.startedAt().isAfter(monthAgo)).toList();
    long puts = 0;
    for (Manifest m : recent) {
      String own = m.plan() + "/" + m.id() + "/";
      puts += 3 + m.artifacts().stream().filter(a -> a.key().startsWith(own))
          .mapToLong(a -> Math.max(1, (a.storedBytes() + (8 << 20) - 1) / (8 << 20))).sum();
    }
    if (!recent.isEmpty()) {
      Duration observed = Duration.between(recent.get(0).startedAt(), now);
      double days = Math.max(1, observed.toMinutes() / 1440.0);
      puts = days < 30 ? Math.round(puts * 30 / days) : puts;
    }
    puts += walPuts;
    long newestBytes = manifests.isEmpty() ? 0 : manifests.get(manifests.size() - 1).storedBytes() + walBytes;
    Optional<PriceTable.Price> price = storageClass == null ? Optional.empty() : prices.price(storageClass);
    if (price.isEmpty()) {
      return new Cost(storageClass, false, bytes, 0, puts, 0, 0, 0);
    }
    PriceTable.Price p = price.get();
    double gib = bytes / (double) (1L << 30);
    return new Cost(storageClass, true, bytes, gib * p.storageGbMonth(), puts, puts / 1000.0 * p.putPer1000(),
        newestBytes / (double) (1L << 30) * p.retrievalGb(), p.thawHours());
  }

  /** {@code P7D} for whole days, else ISO-8601 ({@code PT1H}): as the plan file writes it. */
  static String period(Duration d) {
    return !d.isZero() && d.toSeconds() % 86_400 == 0 && d.toNanosPart() == 0 ? "P" + d.toDays() + "D" : d.toString();
  }

  private static String hours(double h) {
    return h == Math.rint(h) ? (long) h + " h" : String.format(java.util.Locale.ROOT, "%.1f h", h);
  }
}
