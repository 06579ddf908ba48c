package dev.savepoint.recovery;

import dev.savepoint.core.ObjectNotFoundException;
import dev.savepoint.core.Repository;
import dev.savepoint.core.internal.ManifestCodec;
import dev.savepoint.core.operations.Event;
import dev.savepoint.core.operations.Notifier;
import dev.savepoint.core.security.AuditLog;
import dev.savepoint.core.store.ObjectInfo;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.jspecify.annotations.Nullable;

/**
 * The whole recovery procedure as one audited command: an ordered list of {@link RecoveryStep}s (stop the
 * writers, restore the database, the uploads and the configuration as of one point in time, check, start the
 * writers, wait for health), each with a timeout. {@link #run} measures the RTO and stores a
 * {@link RecoveryReport} in the repository ({@code _savepoint/recoveries/<id>.json}) and the audit log; on a
 * failed step it stops and the report says which step, the state the platform is in, and {@link #resume} goes on
 * from that step. {@link #dryRun} resolves every step (which backups, which commands) and changes nothing, and says
 * how long each step took in the plan's newest successful drill. A plan built as a {@link Builder#drill drill}
 * runs the same procedure against staging targets, so the RTO is measured before the day it is needed.
 */
public final class RecoveryPlan {
  static final String PREFIX = "_savepoint/recoveries/";

  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(RecoveryPlan.class);
  private final String name;
  private final Repository repository;
  private final List<RecoveryStep> steps;
  private final @Nullable Duration rtoTarget;
  private final List<String> checklist;
  private final String principal;
  private final Notifier notifier;
  private final boolean drill;
  private final @Nullable Instant pointInTime;
  private final @Nullable Instant incidentStart;
  private final Map<String, String> stepSha256;

  private RecoveryPlan(Builder b) {
    this.name = b.name;
    this.repository = b.repository;
    this.steps = List.copyOf(b.steps);
    this.rtoTarget = b.rtoTarget;
    this.checklist = List.copyOf(b.checklist);
    this.principal = b.principal;
    this.notifier = Notifier.safely(b.notifiers);
    this.drill = b.drill;
    this.pointInTime = b.pointInTime;
    this.incidentStart = b.incidentStart;
    this.stepSha256 = Map.copyOf(b.stepSha256);
    List<String> names = steps.stream().map(RecoveryStep::name).toList();
    if (names.size() != names.stream().distinct().count()) {
      throw new IllegalArgumentException("step names must be unique in recovery plan '" + name + "': " + names);
    }
  }

  public static Builder builder(String name, Repository repository) {
    return new Builder(name, repository);
  }

  public List<RecoveryStep> steps() {
    return steps;
  }

  /** Resolves and describes every step, changing nothing. */
  public RecoveryReport dryRun() throws IOException {
    Instant now = Instant.now();
    Optional<RecoveryReport> lastDrill = lastDrill();
    List<RecoveryReport.StepResult> results = new ArrayList<>();
    String firstUnresolvable = null;
    for (RecoveryStep step : steps) {
      // Every step is resolved, also after one that cannot be: the operator sees all problems at once.
      try {
        String expected = lastDrill.flatMap(d -> d.steps().stream().filter(s -> s.name().equals(step.name())
            && s.outcome().equals("done")).findFirst()).map(s -> " (took " + Duration.between(s.startedAt(),
                s.finishedAt()).toSeconds() + " s in the drill of " + lastDrill.get().startedAt() + ")").orElse("");
        results.add(new RecoveryReport.StepResult(step.name(), "planned", null, null, step.describe() + expected,
            Map.of(), null));
      } catch (IOException | RuntimeException e) {
        results.add(new RecoveryReport.StepResult(step.name(), "unresolvable", null, null, null, Map.of(),
            String.valueOf(e.getMessage())));
        firstUnresolvable = firstUnresolvable == null ? step.name() : firstUnresolvable;
      }
    }
    return new RecoveryReport(UUID.randomUUID().toString(), name, now, now, true, drill,
        firstUnresolvable == null ? "planned" : "unresolvable", results, 0,
        rtoTarget == null ? null : rtoTarget.toSeconds(), firstUnresolvable,
        firstUnresolvable == null ? null : "nothing was changed (dry run)", checklist, pointInTime, stepSha256,
        incidentStart);
  }

  /** Runs every step in order. */
  public RecoveryReport run() throws IOException {
    return run(UUID.randomUUID().toString());
  }

  /** As {@link #run()}, under a report id the caller chose (a UUID), e.g. to print how to resume before it ends. */
  public RecoveryReport run(String reportId) throws IOException {
    if (!reportId.matches("[0-9a-f-]{36}")) {
      throw new IllegalArgumentException("not a recovery report id: " + reportId);
    }
    return execute(reportId, Map.of(), Instant.now(), incidentStart);
  }

  /**
   * Goes on with the recovery of report {@code reportId}: steps it completed are skipped, the failed (or, after a
   * kill, the running) one rerun. Refused for another point in time or another recovery file than the report's: the
   * platform would end up at mixed points in time.
   */
  public RecoveryReport resume(String reportId) throws IOException {
    RecoveryReport earlier = load(reportId);
    if (!earlier.plan().equals(name)) {
      throw new IllegalArgumentException("report " + reportId + " is of recovery plan '" + earlier.plan() + "', not '"
          + name + "'");
    }
    if (earlier.succeeded()) {
      throw new IllegalArgumentException("report " + reportId + " finished (" + earlier.outcome() + " at "
          + earlier.finishedAt() + "): there is nothing to resume; run the recovery anew to do it again");
    }
    if (!Objects.equals(earlier.pointInTime(), pointInTime)) {
      throw new IllegalArgumentException("report " + reportId + " recovers to " + (earlier.pointInTime() == null
          ? "the newest backups" : earlier.pointInTime()) + ", not " + (pointInTime == null ? "the newest backups"
              : pointInTime) + ": resume it with the same --at");
    }
    if (incidentStart != null && earlier.incidentStartedAt() != null
        && !incidentStart.equals(earlier.incidentStartedAt())) {
      throw new IllegalArgumentException("report " + reportId + " counts the outage from " + earlier.incidentStartedAt()
          + ", not " + incidentStart + ": resume it without --incident-start (or with the same)");
    }
    Map<String, String> ran = earlier.stepSha256() == null ? Map.of() : earlier.stepSha256();
    for (RecoveryReport.StepResult step : earlier.steps()) {
      boolean counted = step.outcome().equals("done") || step.outcome().equals("skipped");
      if (counted && ran.containsKey(step.name()) && !ran.get(step.name()).equals(stepSha256.get(step.name()))) {
        throw new IllegalArgumentException("step " + step.name() + " of report " + reportId + " ran as the recovery "
            + "file defined it then, and the file now defines it otherwise: a resume would count it as done. Put it back "
            + "as it was (fixing a step that has not run yet is fine), or start a new recovery");
      }
    }
    Map<String, RecoveryReport.StepResult> done = new LinkedHashMap<>();
    earlier.steps().stream().filter(s -> s.outcome().equals("done") || s.outcome().equals("skipped"))
        .forEach(s -> done.put(s.name(), s));
    // The outage began when the first run was told it did (or, unsaid, when the first run began): resumes keep it.
    Instant incident = earlier.incidentStartedAt() != null ? earlier.incidentStartedAt() : incidentStart;
    return execute(reportId, done, earlier.startedAt(), incident);
  }

  /** The newest drill of this plan that recovered, if any. */
  public Optional<RecoveryReport> lastDrill() throws IOException {
    return reports().stream().filter(r -> r.drill() && r.succeeded()).findFirst();
  }

  /**
   * Every stored report of this recovery plan (runs and drills), newest first: after a dropped session, the one
   * still {@code running} or {@code interrupted} is what {@code --resume} takes.
   */
  public List<RecoveryReport> reports() throws IOException {
    return reports(repository, name);
  }

  /** {@link #reports()} of the recovery plan {@code name} in {@code repository}. */
  public static List<RecoveryReport> reports(Repository repository, String name) throws IOException {
    List<RecoveryReport> all = new ArrayList<>();
    for (ObjectInfo o : repository.store().list(PREFIX)) {
      if (!o.key().endsWith(".json")) {
        continue;
      }
      try {
        RecoveryReport r = ManifestCodec.JSON.readValue(repository.readDocument(o.key()), RecoveryReport.class);
        if (r.plan().equals(name)) {
          all.add(r);
        }
      } catch (ObjectNotFoundException e) {
        // removed meanwhile
      }
    }
    all.sort(Comparator.comparing(RecoveryReport::startedAt).reversed());
    return all;
  }

  public RecoveryReport load(String reportId) throws IOException {
    return load(repository, reportId);
  }

  /** The report {@code reportId} in {@code repository} (checked like every document of a signed repository). */
  public static RecoveryReport load(Repository repository, String reportId) throws IOException {
    if (!reportId.matches("[0-9a-f-]{36}")) {
      throw new IllegalArgumentException("not a recovery report id: " + reportId);
    }
    try {
      return ManifestCodec.JSON.readValue(repository.readDocument(PREFIX + reportId + ".json"), RecoveryReport.class);
    } catch (ObjectNotFoundException e) {
      throw new IllegalArgumentException("no recovery report " + reportId + " in " + repository.describe());
    }
  }

  /** Where the lock that lets one run of a recovery plan (and one of its drills) go at a time lives. */
  private String lockKey() {
    return "_savepoint/locks/recovery-" + name.replaceAll("[^A-Za-z0-9._-]", "_") + (drill ? "-drill" : "") + ".lock";
  }

  private RecoveryReport execute(String id, Map<String, RecoveryReport.StepResult> done, Instant startedAt,
      @Nullable Instant incident) throws IOException {
    // One run at a time: two recoveries stopping the writers and swapping the same tables deadlock, or worse.
    try (Repository.Lease lock = repository.exclusive(lockKey(), (drill ? "recovery drill '" : "recovery '") + name
        + "' (report " + id + ")", Duration.ofSeconds(1))) {
      return executeHolding(id, done, startedAt, incident);
    }
  }

  /**
   * Runs the steps, writing the report before the first (status {@code running}) and after each, so a killed run
   * leaves what it did for {@code --resume}; a shutdown (Ctrl-C, SIGTERM, SIGHUP of a dropped SSH session) marks it
   * {@code interrupted} and says so to the notifiers.
   */
  private RecoveryReport executeHolding(String id, Map<String, RecoveryReport.StepResult> done, Instant startedAt,
      @Nullable Instant incident) throws IOException {
    AuditLog audit = repository.auditLog();
    String action = drill ? "recover-drill" : "recover";
    String kind = drill ? "drill " : "";
    audit.append(principal, action, name, "started", Map.of("report", id));
    boolean resumed = exists(id);
    notifier.notify(new Event(Event.Type.RECOVERY_STARTED, name, null, Instant.now(), kind + (resumed ? "resumed"
        : "started") + " by " + principal + " (report " + id + ")", Map.of("report", id)));
    List<RecoveryReport.StepResult> results = new java.util.concurrent.CopyOnWriteArrayList<>();
    String[] current = new String[2]; // the step running now, and the state the platform is in if it fails
    Instant[] stepStarted = new Instant[1];
    LOG.info("recovery '{}' {} (report {}; after a kill: --resume {})", name, done.isEmpty() ? "started" : "resumed", id,
        id);
    java.util.concurrent.atomic.AtomicBoolean shuttingDown = new java.util.concurrent.atomic.AtomicBoolean();
    Thread interrupted = new Thread(() -> {
      if (current[0] == null) {
        return;
      }
      shuttingDown.set(true); // the report is this hook's now: a step failing under it must not overwrite it
      try {
        RecoveryReport r = report(id, startedAt, incident, Instant.now(), "interrupted", pending(results, current[0],
            stepStarted[0]), current[0],
            current[1]);
        repository.writeDocument(PREFIX + id + ".json", ManifestCodec.JSON.writeValueAsBytes(r));
        audit.append(principal, action, name, "interrupted", Map.of("report", id, "failedStep", current[0]));
        notifier.notify(new Event(Event.Type.RECOVERY_FAILED, name, null, Instant.now(), kind + "interrupted at step "
            + current[0] + ": " + current[1] + " (resume with report " + id + ")", Map.of("report", id)));
      } catch (IOException | RuntimeException e) {
        System.err.println("savepoint: could not record the interrupted recovery " + id + ": " + e.getMessage());
      } finally {
        Steps.endRunningCommands(); // then the command it ran ends, with everything it started
      }
    }, "savepoint-recovery-interrupted");
    Runtime.getRuntime().addShutdownHook(interrupted);
    String failed = null;
    String state = null;
    String[] blocked = preflight(done);
    try {
      for (RecoveryStep step : steps) {
        if (failed != null) {
          results.add(new RecoveryReport.StepResult(step.name(), "not run", null, null, null, Map.of(), null));
          continue;
        }
        if (blocked != null) {
          if (step.name().equals(blocked[0])) {
            failed = step.name();
            state = "unchanged: nothing ran (every step is checked before the first change)";
            results.add(new RecoveryReport.StepResult(step.name(), "failed", Instant.now(), Instant.now(), null,
                Map.of(), "before any change: " + blocked[1]));
          } else {
            results.add(done.containsKey(step.name()) ? new RecoveryReport.StepResult(step.name(), "skipped",
                done.get(step.name()).startedAt(), done.get(step.name()).finishedAt(), "done by an earlier run",
                done.get(step.name()).details(), null)
                : new RecoveryReport.StepResult(step.name(), "not run", null, null, null, Map.of(), null));
          }
          continue;
        }
        if (done.containsKey(step.name()) && !step.repeatsOnResume()) {
          RecoveryReport.StepResult earlier = done.get(step.name());
          results.add(new RecoveryReport.StepResult(step.name(), "skipped", earlier.startedAt(), earlier.finishedAt(),
              "done by an earlier run", earlier.details(), null));
          continue;
        }
        current[0] = step.name();
        current[1] = step.stateIfFailed();
        Instant start = Instant.now();
        stepStarted[0] = start;
        repository.writeDocument(PREFIX + id + ".json", ManifestCodec.JSON.writeValueAsBytes(report(id, startedAt, incident,
            start, "running", pending(results, step.name(), start), null, null)));
        LOG.info("recovery '{}' (report {}): step {} started: {}", name, id, step.name(), describeQuietly(step));
        try {
          Map<String, Object> details = withTimeout(step);
          results.add(new RecoveryReport.StepResult(step.name(), "done", start, Instant.now(), null, details, null));
          LOG.info("recovery '{}': step {} done in {} s", name, step.name(),
              Duration.between(start, Instant.now()).toSeconds());
        } catch (Exception e) {
          failed = step.name();
          state = step.stateIfFailed() + leftByEarlierSteps(step);
          results.add(new RecoveryReport.StepResult(step.name(), "failed", start, Instant.now(), null, Map.of(),
              String.valueOf(e.getMessage())));
        }
      }
      current[0] = null;
    } finally {
      try {
        Runtime.getRuntime().removeShutdownHook(interrupted);
      } catch (IllegalStateException jvmShuttingDown) {
        // the hook runs, or ran: it records the interruption
      }
    }
    Instant end = Instant.now();
    if (shuttingDown.get()) {
      // Interrupted: the shutdown hook recorded it, told the notifiers and the audit log; this run says the same.
      return report(id, startedAt, incident, end, "interrupted", pending(results.subList(0, Math.max(0,
          results.size() - (failed == null ? 0 : 1))), failed, stepStarted[0]), failed, state);
    }
    RecoveryReport report = report(id, startedAt, incident, end, failed == null ? "recovered" : "failed", results, failed, state);
    repository.writeDocument(PREFIX + id + ".json", ManifestCodec.JSON.writeValueAsBytes(report));
    audit.append(principal, action, name, report.outcome(), Map.of("report", id, "rtoSeconds", report.rtoSeconds(),
        "failedStep", failed == null ? "" : failed));
    notifier.notify(new Event(failed == null ? Event.Type.RECOVERY_FINISHED : Event.Type.RECOVERY_FAILED, name, null,
        end, failed == null ? kind + "recovered in " + report.rtoSeconds() + " s" + (incident == null ? ""
            : " since the incident began at " + incident) + (rtoTarget == null ? ""
            : " (RTO target " + rtoTarget.toSeconds() + " s " + (report.rtoSeconds() <= rtoTarget.toSeconds() ? "met"
                : "MISSED") + ")")
            : kind + "stopped at step " + failed + ": " + state + " (resume with report " + id + ")",
        Map.of("report", id, "rtoSeconds", report.rtoSeconds())));
    return report;
  }

  /**
   * What the steps before {@code failed} left that the failure does not undo (the newest such state, e.g. "deployment
   * prod/trpg runs (writers started by step start-writers)"), for the report and the notification.
   */
  private String leftByEarlierSteps(RecoveryStep failed) {
    String left = null;
    for (RecoveryStep step : steps.subList(0, steps.indexOf(failed))) {
      left = step.leaves() != null ? step.leaves() : left;
    }
    return left == null ? "" : "; " + left;
  }

  /**
   * Every step still to run checks what no earlier step can change ({@link RecoveryStep#preflight}): a typo'd plan in
   * the last step, a time outside a window, a wrong key are found before the writers stop. The first that fails, as
   * {step name, why}; null when all pass.
   */
  private String @Nullable [] preflight(Map<String, RecoveryReport.StepResult> done) {
    for (RecoveryStep step : steps) {
      if (done.containsKey(step.name()) && !step.repeatsOnResume()) {
        continue;
      }
      try {
        step.preflight();
      } catch (Exception e) {
        return new String[] {step.name(), String.valueOf(e.getMessage())};
      }
    }
    return null;
  }

  private boolean exists(String id) throws IOException {
    return repository.store().stat(PREFIX + id + ".json").isPresent();
  }

  /** The steps so far, the one named {@code running} as running since {@code since} and every later one not run. */
  private List<RecoveryReport.StepResult> pending(List<RecoveryReport.StepResult> results, @Nullable String running,
      Instant since) {
    List<RecoveryReport.StepResult> all = new ArrayList<>(results);
    for (RecoveryStep step : steps.subList(results.size(), steps.size())) {
      boolean now = step.name().equals(running);
      all.add(new RecoveryReport.StepResult(step.name(), now ? "running" : "not run", now ? since : null, null, null,
          Map.of(), null));
    }
    return all;
  }

  private static String describeQuietly(RecoveryStep step) {
    try {
      return step.describe();
    } catch (IOException | RuntimeException e) {
      return step.name();
    }
  }

  private RecoveryReport report(String id, Instant startedAt, @Nullable Instant incident, Instant end, String outcome,
      List<RecoveryReport.StepResult> results, @Nullable String failed, @Nullable String state) {
    // A report of a run still going has no end yet; its RTO so far counts to the moment it was written.
    return new RecoveryReport(id, name, startedAt, outcome.equals("running") ? null : end, false, drill, outcome,
        List.copyOf(results),
        Duration.between(incident != null ? incident : startedAt, end).toSeconds(), rtoTarget == null ? null
            : rtoTarget.toSeconds(), failed, state, checklist, pointInTime, stepSha256, incident);
  }

  private static Map<String, Object> withTimeout(RecoveryStep step) throws Exception {
    ExecutorService one = Executors.newSingleThreadExecutor(
        dev.savepoint.core.internal.DaemonThreads.named("savepoint-recovery-" + step.name()));
    try {
      Future<Map<String, Object>> f = one.submit(step::run);
      return f.get(step.timeout().toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      throw new IOException("step " + step.name() + " did not finish within " + step.timeout());
    } catch (ExecutionException e) {
      throw e.getCause() instanceof Exception ex ? ex : new IOException(e.getCause());
    } finally {
      one.shutdownNow();
    }
  }

  /** Options of a {@link RecoveryPlan}. */
  public static final class Builder {
    private final String name;
    private final Repository repository;
    private final List<RecoveryStep> steps = new ArrayList<>();
    private @Nullable Duration rtoTarget;
    private final List<String> checklist = new ArrayList<>();
    private String principal = System.getProperty("user.name", "unknown");
    private final List<Notifier> notifiers = new ArrayList<>();
    private boolean drill;
    private @Nullable Instant pointInTime;
    private @Nullable Instant incidentStart;
    private final Map<String, String> stepSha256 = new java.util.LinkedHashMap<>();

    private Builder(String name, Repository repository) {
      this.name = Objects.requireNonNull(name);
      this.repository = Objects.requireNonNull(repository);
    }

    public Builder step(RecoveryStep step) {
      steps.add(Objects.requireNonNull(step));
      return this;
    }

    /** The RTO the measured recovery time is compared with in the report. */
    public Builder rto(Duration target) {
      this.rtoTarget = target;
      return this;
    }

    /** Human-only items (declare the incident, notify users, …), listed in the report as open items. */
    public Builder checklist(String... items) {
      checklist.addAll(List.of(items));
      return this;
    }

    /** Who runs the recovery, for the audit log. */
    public Builder principal(String principal) {
      this.principal = Objects.requireNonNull(principal);
      return this;
    }

    /** Told when the recovery starts, finishes (with its RTO) or stops at a failed step. */
    public Builder notifier(Notifier notifier) {
      notifiers.add(notifier);
      return this;
    }

    /**
     * When the outage began (e.g. the first alert): the reported RTO counts from it — the outage, not only the
     * procedure — instead of from the first run's start. Recorded in the report; resumes keep it.
     */
    public Builder incidentStart(@Nullable Instant at) {
      if (at != null && at.isAfter(Instant.now())) {
        throw new IllegalArgumentException("the incident start " + at + " is in the future");
      }
      this.incidentStart = at;
      return this;
    }

    /** The time every step restores to (null: the newest backups), recorded in the report for resumes. */
    public Builder pointInTime(@Nullable Instant at) {
      this.pointInTime = at;
      return this;
    }

    /**
     * The SHA-256 of a step's definition as the recovery file writes it, recorded in the report: a resume refuses to
     * count a step as done whose definition has changed since.
     */
    public Builder source(String step, String sha256) {
      stepSha256.put(Objects.requireNonNull(step), Objects.requireNonNull(sha256));
      return this;
    }

    /**
     * Marks this plan as a drill: its steps act on staging targets (a scratch database, a scratch bucket, another
     * deployment), and its report and audit entries say so; dry runs of the real plan quote its step times.
     */
    public Builder drill(boolean drill) {
      this.drill = drill;
      return this;
    }

    public RecoveryPlan build() {
      if (steps.isEmpty()) {
        throw new IllegalArgumentException("recovery plan '" + name + "' has no steps");
      }
      return new RecoveryPlan(this);
    }
  }
}
