package dev.savepoint.cli;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import dev.savepoint.core.BackupSelector;
import dev.savepoint.core.ConfigurationException;
import dev.savepoint.core.Repository;
import dev.savepoint.core.Secrets;
import dev.savepoint.core.operations.Notifier;
import dev.savepoint.core.security.ApprovalPolicy;
import dev.savepoint.postgres.PostgresTarget;
import dev.savepoint.postgres.PostgresUrl;
import dev.savepoint.recovery.RecoveryPlan;
import dev.savepoint.recovery.RecoveryReport;
import dev.savepoint.recovery.RecoveryStep;
import dev.savepoint.recovery.Steps;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The whole recovery as one command, from a recovery file:
 *
 * <pre>
 * name: trpg
 * repository: s3://trpg-backups/primary?region=ap-northeast-1
 * rto: PT1H
 * checklist: [Declare the incident, Notify users, Write the post-incident report]
 * slackWebhookEnv: SLACK_WEBHOOK_URL     # "recovery started / finished (RTO) / stopped at step …"
 * steps:
 *   - name: stop-writers
 *     scale: {deployment: trpg, namespace: prod, replicas: 0}   # or command: [kubectl, scale, …]
 *     stateIfFailed: the backend may be partly scaled down
 *   - name: restore-database
 *     restore: {plan: trpg-tier1, to: "postgresql://app@db/trpg"}
 *     # or a point-in-time plan into an empty data directory (a command step then starts PostgreSQL on it):
 *     # restore: {plan: trpg-cluster, to: "pgdata:/var/lib/postgresql/15/main"}
 *     # or, on a managed database, the provider's own point-in-time restore to --at:
 *     # restore: {to: "neon://proud-pine-123456/br-main-a1b2c3?tokenEnv=NEON_API_KEY"}
 *     # restore: {to: "supabase://abcdefghijklmnop?tokenEnv=SUPABASE_ACCESS_TOKEN"}
 *     timeout: PT1H
 *   - name: restore-uploads
 *     restore: {plan: trpg-uploads, to: "s3://trpg-app/uploads?region=ap-northeast-1"}
 *   - name: restore-config
 *     restore: {plan: config, to: "envfile:/etc/trpg/.env"}
 *   - name: check-users
 *     check: {database: "postgresql://app@db/trpg", sql: "SELECT count(*) > 0 FROM users", expect: "t"}
 *   - name: start-writers
 *     scale: {deployment: trpg, namespace: prod, replicas: previous}   # the size recorded by the stop
 *   - name: health
 *     health: https://trpg.example/api/health
 *     timeout: PT5M
 * </pre>
 *
 * <p>{@code recover --drill} rehearses the plan: every step that changes something names what it does in a drill
 * ({@code drill: {restore: {plan: trpg-tier1, to: "postgresql://app@staging-db/trpg_drill"}}} or
 * {@code drill: {skip: true}}); read-only steps (check, health) run as written unless they have a drill entry too.
 */
@Command(name = "recover", description = "Run a whole recovery (stop writers, restore database, uploads and "
    + "configuration as of one time, check, start writers, health) from a recovery file; measures the RTO, stores "
    + "a report, stops at a failed step and resumes from it (--resume <report-id>). --dry-run changes nothing.")
final class RecoverCommand implements Callable<Integer> {
  record RestoreSpec(String plan, String to, String scope) {}

  record CheckSpec(String database, String sql, String expect) {}

  record ApproveSpec(Integer quorum) {}

  /** {@code replicas}: a number, or {@code previous} — the size recorded when a scale step stopped it. */
  record ScaleSpec(String deployment, String namespace, String replicas) {}

  record StepSpec(String name, List<String> command, List<String> env, RestoreSpec restore, CheckSpec check,
      URI health, ApproveSpec approve, ScaleSpec scale, Duration timeout, String stateIfFailed, StepSpec drill,
      Boolean skip) {

    /** Only reads: a drill may run it as written. */
    boolean readsOnly() {
      return command == null && restore == null && scale == null && approve == null;
    }

    /** This step as a drill runs it (its {@code drill:} entry, under its name), or null when the drill skips it. */
    StepSpec forDrill() throws ConfigurationException {
      if (drill == null) {
        return approve != null ? null : this; // a drill changes nothing that needs approving
      }
      if (Boolean.TRUE.equals(drill.skip())) {
        return null;
      }
      return new StepSpec(name, drill.command(), drill.env() != null ? drill.env() : env, drill.restore(), drill.check(),
          drill.health(), null, drill.scale(),
          drill.timeout() != null ? drill.timeout() : timeout, drill.stateIfFailed(), null, null);
    }
  }

  record RecoveryFile(String name, String repository, Duration rto, List<String> checklist, String slackWebhookEnv,
      String webhookEnv, List<StepSpec> steps) {}

  @Mixin
  SecretOptions secretOptions;

  @Mixin
  TrustOptions trust;

  @Option(names = "--config", required = true, paramLabel = "<recovery.yaml>")
  Path config;

  @Option(names = "--at", paramLabel = "<ISO time>", description = "Restore every backup as of this time (the "
      + "newest taken at or before it); default: the newest.")
  String at;

  @Option(names = "--incident-start", paramLabel = "<ISO time>", description = "When the outage began (e.g. the "
      + "first alert): the RTO is counted from it — the outage, not only the procedure. Kept by resumes.")
  String incidentStart;

  @Option(names = "--dry-run", description = "Resolve every step (which backups, which commands); change nothing.")
  boolean dryRun;

  @Option(names = "--drill", description = "Rehearse: run each step's 'drill:' variant (staging targets, e.g. a scratch "
      + "database) instead of the step, skip approve steps and steps marked 'drill: {skip: true}', and record the "
      + "measured times; later dry runs quote them. Refused if a step that changes something has no 'drill:' entry.")
  boolean drill;

  @Option(names = "--resume", paramLabel = "<report-id>", description = "Go on from the step that failed.")
  String resume;

  @Option(names = "--json", description = "Print the report as JSON.")
  boolean json;

  @Option(names = "--list", description = "List this recovery's reports (runs and drills), newest first, and change "
      + "nothing: after a dropped session, the running or interrupted one is the report to --resume.")
  boolean list;

  @Option(names = "--approval", paramLabel = "<request-id>", description = "For an approve step: the approved request "
      + "for this recovery (savepoint approve --request --recovery <file>).")
  String approval;

  @Option(names = "--approvers", paramLabel = "<allowed_signers>", description = "For an approve step: the approvers' "
      + "SSH keys (kept outside the repository; default: $SAVEPOINT_APPROVERS).")
  Path approvers;

  @Override
  public Integer call() throws Exception {
    if (!Files.isRegularFile(config)) {
      throw new ConfigurationException("recovery file " + config + " does not exist");
    }
    RecoveryFile file;
    try {
      file = new ObjectMapper(new YAMLFactory()).registerModule(new JavaTimeModule())
          .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES).readValue(config.toFile(), RecoveryFile.class);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw ConfigErrors.of("recovery file", config, e);
    }
    if (file.name() == null || file.repository() == null || file.steps() == null) {
      throw new ConfigurationException("recovery file " + config + " needs name, repository and steps");
    }
    Secrets secrets = secretOptions.secrets();
    Repository repository = trust.requireAuthentication(trust.apply(Uris.repository(file.repository()), secrets));
    if (list) {
      List<RecoveryReport> reports = RecoveryPlan.reports(repository, file.name());
      if (json) {
        System.out.println(Format.json(reports));
      } else {
        for (RecoveryReport r : reports) {
          String at = r.steps().stream().filter(st -> st.outcome().equals("running")).map(st -> ", in step " + st.name())
              .findFirst().orElse(r.failedStep() == null ? "" : ", at step " + r.failedStep());
          System.out.printf("%s  %s%s %s%s (at %s)%n", r.id(), r.drill() ? "drill " : "", r.startedAt(), r.outcome(),
              at, r.pointInTime() == null ? "the newest backups" : r.pointInTime());
        }
        if (reports.isEmpty()) {
          System.out.println("no reports of recovery '" + file.name() + "' in " + repository.describe());
        }
      }
      return Main.OK;
    }
    byte[] source = Files.readAllBytes(config);
    // One point in time for every step and every resume: --at, else the moment the first run began ("latest" then),
    // as its report records it, so that a backup taken between a failure and the resume is not mixed in.
    Instant pointInTime = at != null ? Format.instant("--at", at)
        : resume != null ? RecoveryPlan.load(repository, resume).pointInTime() : Instant.now();
    BackupSelector selector = pointInTime == null ? BackupSelector.latest() : BackupSelector.atOrBefore(pointInTime);
    RecoveryPlan.Builder plan = RecoveryPlan.builder(file.name(), repository).rto(file.rto()).principal(Audit.principal())
        .drill(drill).pointInTime(pointInTime)
        .incidentStart(incidentStart == null ? null : Format.instant("--incident-start", incidentStart));
    ObjectMapper canonical = new ObjectMapper().registerModule(new JavaTimeModule());
    for (StepSpec s : file.steps()) {
      plan.source(String.valueOf(s.name()), java.util.HexFormat.of().formatHex(java.security.MessageDigest
          .getInstance("SHA-256").digest(canonical.writeValueAsBytes(s))));
    }
    if (file.checklist() != null) {
      plan.checklist(file.checklist().toArray(String[]::new));
    }
    if (file.slackWebhookEnv() != null) {
      plan.notifier(Notifier.slack(URI.create(new String(SecretOptions.env(file.slackWebhookEnv())))));
    }
    if (file.webhookEnv() != null) {
      plan.notifier(Notifier.webhook(URI.create(new String(SecretOptions.env(file.webhookEnv())))));
    }
    Steps.ApprovalSubject subject = Steps.approvalSubject(file.name(), at == null ? null : Format.instant("--at", at),
        source);
    List<String> undrillable = file.steps().stream().filter(s -> drill && s.drill() == null && !s.readsOnly()
        && s.approve() == null).map(StepSpec::name).toList();
    if (!undrillable.isEmpty()) {
      throw new ConfigurationException("a drill runs only what is known to be safe to rehearse: step(s) " + undrillable
          + " change something and have no 'drill:' entry (give one acting on staging targets, or drill: {skip: true})");
    }
    // A drill is bound too: its steps can restore wherever the file says, production included.
    Optional<ApprovalPolicy.Document> policy = Approvals.policy(repository);
    int policyQuorum = policy.map(p -> p.required(ApprovalPolicy.Operation.RECOVER)).orElse(0);
    // Each step as this run runs it (null: the drill skips it). Under a policy a drill keeps its approve steps.
    List<StepSpec> runs = new java.util.ArrayList<>();
    for (StepSpec s : file.steps()) {
      runs.add(!drill ? s : policyQuorum > 0 && s.approve() != null ? s : s.forDrill());
    }
    int firstApproval = 0;
    while (firstApproval < file.steps().size() && file.steps().get(firstApproval).approve() == null) {
      firstApproval++;
    }
    // What runs is what counts: a read-only step's drill entry may be a command.
    boolean changesBeforeApproval = runs.subList(0, firstApproval).stream().anyMatch(r -> r != null && !r.readsOnly());
    if (policyQuorum > 0 && (firstApproval == file.steps().size() || changesBeforeApproval)) {
      throw new dev.savepoint.core.ApprovalException("the repository's approval policy (version "
          + policy.get().version() + ") requires " + policyQuorum + " approval(s) to recover (and to drill a "
          + "recovery): the recovery file needs an approve step before its first step that changes anything");
    }
    for (int i = 0; i < runs.size(); i++) {
      if (runs.get(i) == null) {
        System.err.println("savepoint: the drill skips step " + file.steps().get(i).name());
        continue;
      }
      plan.step(step(runs.get(i), repository, selector, secrets, subject, policy));
    }
    RecoveryPlan recovery = plan.build();
    String reportId = resume != null ? resume : java.util.UUID.randomUUID().toString();
    // Ctrl-C, SIGTERM, a dropped SSH session: the report says "interrupted" (RecoveryPlan); the operator is told how
    // to go on.
    boolean[] finished = {dryRun};
    String recoveryName = file.name();
    Thread told = new Thread(() -> {
      if (!finished[0]) {
        System.err.println("savepoint: recovery '" + recoveryName + "' interrupted; resume with: "
            + resumeCommand(reportId));
      }
    }, "savepoint-recover-interrupted");
    Runtime.getRuntime().addShutdownHook(told);
    RecoveryReport report;
    try {
      report = dryRun ? recovery.dryRun() : resume != null ? recovery.resume(resume) : recovery.run(reportId);
    } finally {
      finished[0] = true;
    }
    if (json) {
      System.out.println(Format.json(report));
    } else {
      print(report);
    }
    if (report.dryRun() && !report.succeeded()) {
      throw new IllegalArgumentException("recovery '" + file.name() + "' cannot be carried out as written: "
          + String.join("; ", report.steps().stream().filter(r -> r.error() != null)
              .map(r -> "step " + r.name() + ": " + r.error()).toList()));
    }
    if (!report.succeeded()) {
      throw new dev.savepoint.core.RestoreException("recovery '" + file.name() + "' stopped at step "
          + report.failedStep() + "; state: " + report.stateAfterFailure() + "; resume with: "
          + resumeCommand(report.id()));
    }
    return Main.OK;
  }

  /** The whole command that resumes report {@code reportId}: the same file, point in time and key options (names). */
  private String resumeCommand(String reportId) {
    StringBuilder cmd = new StringBuilder("savepoint recover --config " + config + " --resume " + reportId);
    if (at != null) {
      cmd.append(" --at ").append(at);
    }
    secretOptions.commandLine().forEach(o -> cmd.append(' ').append(o));
    trust.commandLine().forEach(o -> cmd.append(' ').append(o));
    if (approvers != null) {
      cmd.append(" --approvers ").append(approvers);
    }
    return cmd.toString();
  }

  private RecoveryStep step(StepSpec s, Repository repository, BackupSelector selector, Secrets secrets,
      Steps.ApprovalSubject subject, Optional<ApprovalPolicy.Document> policy) throws Exception {
    Duration timeout = s.timeout() != null ? s.timeout() : Duration.ofMinutes(30);
    int kinds = (s.command() != null ? 1 : 0) + (s.restore() != null ? 1 : 0) + (s.check() != null ? 1 : 0)
        + (s.health() != null ? 1 : 0) + (s.approve() != null ? 1 : 0) + (s.scale() != null ? 1 : 0);
    if (s.name() == null || kinds != 1) {
      throw new ConfigurationException("every recovery step needs a name and exactly one of approve, command, restore, "
          + "check, health, scale (step " + s.name() + ")");
    }
    if (s.scale() != null) {
      String replicas = s.scale().replicas();
      if (s.scale().deployment() == null || replicas == null || !(replicas.equals("previous")
          || replicas.matches("\\d{1,6}"))) {
        throw new ConfigurationException("step " + s.name() + ": scale needs deployment and replicas (a number, or "
            + "'previous': the size before a scale step stopped it)");
      }
      String namespace = s.scale().namespace() == null ? "default" : s.scale().namespace();
      return replicas.equals("previous")
          ? dev.savepoint.kubernetes.KubernetesSteps.scaleBack(s.name(), kubernetes(), namespace,
              s.scale().deployment(), timeout)
          : dev.savepoint.kubernetes.KubernetesSteps.scale(s.name(), kubernetes(), namespace, s.scale().deployment(),
              Integer.parseInt(replicas), timeout);
    }
    if (s.approve() != null) {
      // The policy can only ask for more than the file (and names the approvers).
      int quorum = Math.max(s.approve().quorum() == null ? 2 : s.approve().quorum(),
          policy.map(p -> p.required(ApprovalPolicy.Operation.RECOVER)).orElse(0));
      return Steps.approve(s.name(), repository, approval, subject, Approvals.approvers(policy, approvers), quorum,
          timeout);
    }
    if (s.command() != null) {
      return Steps.command(s.name(), s.command(), s.env() == null ? List.of() : s.env(), timeout,
          s.stateIfFailed() != null ? s.stateIfFailed() : "unknown: the command " + s.command() + " failed");
    }
    if (s.restore() != null && s.restore().to() != null && Uris.isProvider(s.restore().to())) {
      if (s.restore().plan() != null || s.restore().scope() != null) {
        throw new ConfigurationException("step " + s.name() + ": a restore through the provider (" + Uris.redact(
            s.restore().to()) + ") takes no plan or scope: it goes back to --at");
      }
      return Steps.providerRestore(s.name(), Uris.provider(s.restore().to()), at == null ? null : Format.instant("--at", at),
          timeout);
    }
    if (s.restore() != null && (s.restore().plan() == null || s.restore().to() == null)) {
      throw new ConfigurationException("step " + s.name() + ": restore needs plan and to (a provider URI needs only to)");
    }
    if (s.restore() != null && s.restore().to().startsWith("pgdata:")) {
      return Steps.pointInTime(s.name(), repository, s.restore().plan(), at == null ? null : Format.instant("--at", at),
          Path.of(s.restore().to().substring("pgdata:".length())).toAbsolutePath().normalize(), secrets, timeout);
    }
    if (s.restore() != null) {
      String to = s.restore().to();
      PostgresTarget.Scope scope = s.restore().scope() == null ? PostgresTarget.Scope.AUTO
          : PostgresTarget.Scope.valueOf(s.restore().scope().toUpperCase(java.util.Locale.ROOT));
      return Steps.restore(s.name(), repository, s.restore().plan(), selector,
          m -> Uris.target(to, m, true, repository, s.restore().plan() + "-safety",
              dev.savepoint.core.sources.FilesTarget.UnsafeKeys.REFUSE, pg -> pg.scope(scope)), secrets, timeout);
    }
    if (s.check() != null) {
      return Steps.sqlCheck(s.name(), PostgresUrl.parse(s.check().database()), s.check().sql(), s.check().expect(),
          timeout);
    }
    return Steps.health(s.name(), s.health(), timeout);
  }

  private io.fabric8.kubernetes.client.KubernetesClient kubernetesClient;

  /** In a pod: its service account; elsewhere: the kubeconfig (KUBECONFIG, ~/.kube/config). Made once. */
  private io.fabric8.kubernetes.client.KubernetesClient kubernetes() {
    if (kubernetesClient == null) {
      kubernetesClient = new io.fabric8.kubernetes.client.KubernetesClientBuilder().build();
    }
    return kubernetesClient;
  }

  private static void print(RecoveryReport r) {
    System.out.printf("%s '%s' %s (report %s)%n", r.drill() ? "recovery drill" : "recovery", r.plan(), r.outcome(),
        r.id());
    for (RecoveryReport.StepResult s : r.steps()) {
      String took = s.startedAt() == null || s.finishedAt() == null ? ""
          : " " + Format.duration(Duration.between(s.startedAt(), s.finishedAt()));
      System.out.printf("  %-20s %-8s%s %s%n", s.name(), s.outcome(), took,
          s.error() != null ? s.error() : s.description() != null ? s.description() : s.details());
    }
    if (!r.dryRun()) {
      // An RTO is met only by a recovery that finished: a failed one has taken this long and is not over.
      System.out.printf("%s %s%s%s%n", r.succeeded() ? "RTO" : "time so far", Format.duration(r.rto()),
          r.incidentStartedAt() == null ? "" : " since the incident began at " + r.incidentStartedAt(),
          r.rtoTargetSeconds() == null ? "" : " (target " + Format.duration(Duration.ofSeconds(r.rtoTargetSeconds()))
              + (r.succeeded() ? ", " + (r.rtoSeconds() <= r.rtoTargetSeconds() ? "met" : "MISSED")
                  : ", not met: the recovery has not finished") + ")");
    }
    for (String item : r.checklist()) {
      System.out.println("  [ ] " + item);
    }
    r.steps().stream().filter(s -> s.details().containsKey("approvedBy")).forEach(s -> System.out.printf(
        "  approved by %s (request %s, checked %s)%n", s.details().get("approvedBy"), s.details().get("request"),
        s.details().get("verifiedAt")));
  }
}
