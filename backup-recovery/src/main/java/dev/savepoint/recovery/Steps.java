package dev.savepoint.recovery;

import dev.savepoint.core.BackupSelector;
import dev.savepoint.core.ConfigurationException;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.Repository;
import dev.savepoint.core.RestoreException;
import dev.savepoint.core.RestoreTarget;
import dev.savepoint.core.Secrets;
import dev.savepoint.core.security.Approvers;
import dev.savepoint.core.security.RestoreApprovals;
import dev.savepoint.postgres.PostgresUrl;
import dev.savepoint.postgres.pitr.PointInTimeRestore;
import dev.savepoint.providers.ManagedPitr;
import dev.savepoint.providers.ProviderException;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/** The built-in {@link RecoveryStep}s. */
public final class Steps {
  private Steps() {}

  /** A step's name and timeout; subclasses add what it does. */
  private abstract static class Named implements RecoveryStep {
    private final String name;
    private final Duration timeout;

    Named(String name, Duration timeout) {
      this.name = Objects.requireNonNull(name);
      this.timeout = Objects.requireNonNull(timeout);
    }

    @Override
    public String name() {
      return name;
    }

    @Override
    public Duration timeout() {
      return timeout;
    }
  }

  /** Where a chosen backup is restored to (the kind of target may depend on the backup, e.g. a file or a directory). */
  @FunctionalInterface
  public interface Target {
    RestoreTarget forBackup(Manifest backup) throws IOException;
  }

  /** {@code setsid} where the system has it (Linux: util-linux), to give each command step its own process group. */
  private static final @Nullable String SETSID = java.util.stream.Stream.of("/usr/bin/setsid", "/bin/setsid")
      .filter(f -> Files.isExecutable(Path.of(f))).findFirst().orElse(null);

  /** Command steps running now: a shutdown (Ctrl-C, SIGTERM) ends them and what they started. */
  private static final java.util.Set<Process> RUNNING = java.util.concurrent.ConcurrentHashMap.newKeySet();

  /** Ends every running command step and what it started: the recovery's shutdown hook, once it has recorded it. */
  static void endRunningCommands() {
    RUNNING.forEach(Steps::killGroup);
  }

  /** Ends {@code p}'s process group (it leads one under setsid) and any descendant still known to it. */
  private static void killGroup(Process p) {
    killGroup(p.toHandle());
  }

  private static void killGroup(ProcessHandle p) {
    // The whole group at once first: killed one by one, a shell whose child dies runs its next command meanwhile.
    java.util.List<ProcessHandle> descendants = p.descendants().toList();
    if (SETSID != null) {
      try {
        new ProcessBuilder("kill", "-KILL", "--", "-" + p.pid()).redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor(5, TimeUnit.SECONDS);
      } catch (IOException e) {
        // no kill(1): the process and its descendants below are all that can be ended
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    p.destroyForcibly(); // the parent before its children, for the same reason
    descendants.forEach(ProcessHandle::destroyForcibly); // those that left the group (setsid of their own)
  }

  /**
   * Where a command step records the process it runs while it runs ({@code <pid> <start time>}), on this host: one
   * file per step name and command.
   */
  static Path runningFile(String name, List<String> command) {
    byte[] step = (name + "\0" + String.join("\0", command)).getBytes(StandardCharsets.UTF_8);
    String key = dev.savepoint.core.internal.Probe.sha256Of(step, 0, step.length);
    return Path.of(System.getProperty("java.io.tmpdir"), "savepoint-step-" + key.substring(0, 32) + ".running");
  }

  /**
   * Ends the command a killed run left running for this step ({@code kill -9} of the JVM leaves its process group
   * alive), with everything it started, before the step runs again: one recovery runs at a time (its lease), so a
   * live process recorded there is an orphan, and two copies of a step must never run at once.
   */
  private static void endOrphan(Path running, String name) throws IOException {
    if (!Files.exists(running)) {
      return;
    }
    String[] recorded = Files.readString(running).strip().split(" ");
    Files.deleteIfExists(running);
    if (recorded.length < 2 || !recorded[0].matches("\\d{1,10}")) {
      return;
    }
    java.util.Optional<ProcessHandle> orphan = ProcessHandle.of(Long.parseLong(recorded[0]))
        .filter(h -> startOf(h).equals(recorded[1]));
    if (orphan.isPresent() && orphan.get().isAlive()) {
      org.slf4j.LoggerFactory.getLogger(Steps.class).warn("step {}: its command from a killed run still runs (pid {}): "
          + "ending it and what it started before running the step again", name, recorded[0]);
      killGroup(orphan.get());
    }
  }

  /**
   * When a waiting step (health, a check) stops retrying: a little before its timeout, so that its failure says what
   * it last saw instead of the step being cut off.
   */
  private static Instant giveUpBy(Instant start, Duration timeout) {
    return start.plus(timeout).minus(Collections.min(List.of(Duration.ofSeconds(10), timeout.dividedBy(4))));
  }

  /** A process's start time as recorded with its pid: together they name that process, never a later one. */
  private static String startOf(ProcessHandle p) {
    return p.info().startInstant().map(Object::toString).orElse("?");
  }

  /** What every command step sees of this process's environment, besides the variables its recovery file names. */
  private static final java.util.Set<String> COMMAND_ENVIRONMENT = java.util.Set.of("PATH", "HOME", "USER", "LANG",
      "LC_ALL", "LC_CTYPE", "LC_MESSAGES", "TZ", "TMPDIR");

  /**
   * Runs a command (e.g. {@code kubectl scale deploy/app --replicas=0}, or a platform's own script); its exit code
   * must be 0. It sees only a minimal environment plus the variables named in {@code environment} (e.g.
   * {@code KUBECONFIG}): never the passphrases, keys and cloud credentials Savepoint itself was given. Its output may
   * hold anything, so it is not stored in the report (which lives in the repository): its size is; on failure its
   * last 4 KiB are logged here, on the operator's host.
   */
  public static RecoveryStep command(String name, List<String> command, List<String> environment, Duration timeout,
      String stateIfFailed) {
    List<String> passed = List.copyOf(environment);
    return new Named(name, timeout) {
      @Override
      public String describe() {
        return "run " + String.join(" ", command);
      }

      @Override
      public Map<String, Object> run() throws IOException, InterruptedException {
        // Its own session and process group (setsid), so a timeout or a shutdown ends everything it started; output
        // into a file, not a pipe, so a daemon it starts on purpose (and leaves running, output inherited) cannot hang
        // the step once the command itself has exited.
        List<String> argv = new java.util.ArrayList<>();
        if (SETSID != null) {
          argv.add(SETSID);
        }
        argv.addAll(command);
        Path running = runningFile(name, command);
        endOrphan(running, name);
        Path output = Files.createTempFile("savepoint-step-", ".out");
        try {
          ProcessBuilder pb = new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(output.toFile())
              .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
          pb.environment().keySet().removeIf(v -> !COMMAND_ENVIRONMENT.contains(v) && !passed.contains(v));
          Process p = pb.start();
          RUNNING.add(p);
          // Said on this host, so that a resume after a kill -9 of this process finds the command if it still runs.
          Files.writeString(running, p.pid() + " " + startOf(p.toHandle()) + "\n");
          boolean finished;
          try {
            finished = p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
          } finally {
            Files.deleteIfExists(running);
            RUNNING.remove(p);
            if (p.isAlive()) { // timed out, or this run was interrupted: it ends with everything it started
              killGroup(p);
            }
          }
          String out = Files.readString(output, StandardCharsets.UTF_8);
          if (!finished) {
            throw new IOException(String.join(" ", command) + " did not finish within " + timeout + " and was killed "
                + "with everything it started");
          }
          if (p.exitValue() != 0) {
            String tail = out.length() > 4096 ? out.substring(out.length() - 4096) : out;
            org.slf4j.LoggerFactory.getLogger(Steps.class).warn("step {}: {} exited with {}; its output ends:\n{}",
                name, String.join(" ", command), p.exitValue(), tail.strip());
            throw new IOException(String.join(" ", command) + " exited with " + p.exitValue() + " (its output, "
                + out.length() + " characters, is in this host's log, not in the report)");
          }
          return Map.of("outputCharacters", out.length());
        } finally {
          Files.deleteIfExists(output);
        }
      }

      @Override
      public String stateIfFailed() {
        return stateIfFailed;
      }
    };
  }

  /**
   * Restores the backup of {@code plan} chosen by {@code selector} (the newest at or before the recovery's point
   * in time, typically) into {@code target}: a database (safety backup, scratch and swap), a bucket, a file.
   */
  public static RecoveryStep restore(String name, Repository repository, String plan, BackupSelector selector,
      Target target, Secrets secrets, Duration timeout) {
    return new Named(name, timeout) {
      private volatile boolean bucket;

      @Override
      public String describe() throws IOException {
        Manifest m = repository.select(plan, selector);
        return "restore backup " + m.id() + " of plan '" + plan + "' (taken " + m.startedAt() + ", "
            + selector.describe() + ") to " + target.forBackup(m).describe();
      }

      /** The backup exists as of the point in time, and the key reads its first stored bytes. */
      @Override
      public void preflight() throws IOException {
        Manifest m = repository.select(plan, selector);
        dev.savepoint.core.ArtifactRecord first = m.artifacts().stream().filter(a -> a.storedBytes() > 0)
            .findFirst().orElse(null);
        if (first != null) {
          try (java.io.InputStream in = repository.openRaw(first, secrets)) {
            in.read();
          }
        }
      }

      @Override
      public Map<String, Object> run() throws IOException {
        Manifest m = repository.select(plan, selector);
        dev.savepoint.core.RestoreTarget to = target.forBackup(m);
        bucket = to instanceof dev.savepoint.core.sources.BucketTarget;
        Repository.RestoreResult r = repository.restore(m, to, secrets);
        Map<String, Object> details = new LinkedHashMap<>(r.facts());
        details.put("backupId", m.id());
        details.put("backupTakenAt", m.startedAt().toString());
        return details;
      }

      @Override
      public String stateIfFailed() {
        return bucket ? "the bucket of plan '" + plan + "' may be part-restored (the error says how many objects were "
            + "rewritten); every object the restore replaced or deleted is in its safety backup; rerun to finish"
            : "the target of plan '" + plan + "' is as it was before this step (restores replace only once verified)";
      }
    };
  }

  /**
   * Restores a physical plan (base backups and WAL) as of {@code at} ({@code null}: the newest durable WAL) into the
   * empty or new data directory {@code directory}; a later step starts PostgreSQL on it (a command step), which
   * recovers to the target and promotes. The dry run checks the recoverable window and the directory.
   */
  public static RecoveryStep pointInTime(String name, Repository repository, String plan, @Nullable Instant at, Path directory,
      Secrets secrets, Duration timeout) {
    PointInTimeRestore pitr = new PointInTimeRestore(repository, plan);
    return new Named(name, timeout) {
      @Override
      public String describe() throws IOException {
        PointInTimeRestore.Window window = windowHolding();
        if (Files.isDirectory(directory)) {
          try (var entries = Files.list(directory)) {
            if (entries.findAny().isPresent()) {
              throw new dev.savepoint.core.TargetNotEmptyException("data directory " + directory + " is not empty");
            }
          }
        }
        return "restore plan '" + plan + "' to " + (at == null ? "its newest durable WAL" : at.toString()) + " into "
            + directory + " (recoverable from " + window.from() + " to " + window.to() + ")";
      }

      /** The time is in the recoverable window (the directory may be emptied or moved by an earlier step). */
      @Override
      public void preflight() throws IOException {
        windowHolding();
      }

      /** The recoverable window, refused unless it holds the point in time. */
      private PointInTimeRestore.Window windowHolding() throws IOException {
        PointInTimeRestore.Window window = pitr.window();
        if (at != null && !window.contains(at)) {
          throw new RestoreException(at + " is outside the recoverable window of plan '" + plan + "' (" + window.from()
              + " to " + window.to() + ")");
        }
        return window;
      }

      @Override
      public Map<String, Object> run() throws IOException {
        PointInTimeRestore.Result r = pitr.restore(at, directory, secrets);
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("baseBackupId", r.baseBackupId());
        details.put("walFiles", r.walFiles());
        details.put("target", r.target());
        details.put("directory", r.directory().toString());
        return details;
      }

      @Override
      public String stateIfFailed() {
        return "the data directory " + directory + " may hold part of the restore: empty it before resuming";
      }
    };
  }

  /**
   * Restores a managed database (Neon, Supabase) to {@code at} through its provider's point-in-time recovery. The
   * dry run asks the provider for its window and refuses a time outside it; {@code at} is required: a provider
   * restore always goes back to a chosen time.
   */
  public static RecoveryStep providerRestore(String name, ManagedPitr provider, Instant at, Duration timeout) {
    return new Named(name, timeout) {
      @Override
      public String describe() throws IOException {
        requireTime();
        ManagedPitr.Window window;
        try {
          window = provider.window();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IOException("interrupted while asking for the window of " + provider.describe(), e);
        }
        if (!window.contains(at)) {
          throw new ProviderException(at + " is outside the window of " + provider.describe() + " (" + window + ")", 0);
        }
        return "restore " + provider.describe() + " to " + at + " through the provider (its window: " + window + ")";
      }

      @Override
      public void preflight() throws IOException {
        describe(); // the time, and the provider's window: nothing else changes it
      }

      @Override
      public Map<String, Object> run() throws IOException, InterruptedException {
        requireTime();
        return provider.restore(at, timeout());
      }

      private void requireTime() throws ConfigurationException {
        if (at == null) {
          throw new ConfigurationException("restoring " + provider.describe() + " through its provider needs the "
              + "point in time to go back to (--at)");
        }
      }

      @Override
      public String stateIfFailed() {
        return provider.describe() + " may be restoring or restored: check the provider's console before resuming";
      }
    };
  }

  /**
   * A SQL query whose single result must equal {@code expected} (e.g. {@code SELECT count(*) > 0 FROM users}). It
   * waits, until its timeout, for a server that is starting (not accepting connections yet) or still recovering
   * ({@code pg_is_in_recovery()}: {@code pg_ctl -w start} returns before a point-in-time recovery has replayed and
   * promoted) — so {@code SELECT pg_is_in_recovery()} expecting {@code f} waits for the promotion — but a promoted
   * server's wrong answer, or a refused login, fails at once.
   */
  public static RecoveryStep sqlCheck(String name, PostgresUrl database, String sql, String expected, Duration timeout) {
    return new Named(name, timeout) {
      @Override
      public String describe() {
        return "check on " + database + ": " + sql + " = " + expected;
      }

      @Override
      public Map<String, Object> run() throws IOException, InterruptedException {
        Instant start = Instant.now();
        Instant deadline = giveUpBy(start, timeout);
        while (true) {
          String waiting;
          try (Connection c = database.connect(); Statement s = c.createStatement()) {
            boolean recovering = "t".equals(single(s, "SELECT pg_is_in_recovery()"));
            String actual = single(s, sql);
            if (Objects.equals(actual, expected)) {
              return Map.of("result", actual, "waitedMillis", Duration.between(start, Instant.now()).toMillis());
            }
            if (!recovering) {
              throw new IOException("check '" + sql + "' on " + database + ": expected " + expected + ", got " + actual);
            }
            waiting = "the server is still recovering (it answered " + actual + ")";
          } catch (SQLException e) {
            String state = e.getSQLState() == null ? "" : e.getSQLState();
            if (!state.startsWith("08") && !state.equals("57P03")) { // not "cannot connect (yet)" / "starting up"
              throw new IOException("check '" + sql + "' on " + database + " failed: " + e.getMessage(), e);
            }
            waiting = "the server does not accept connections yet (" + e.getMessage() + ")";
          }
          if (Instant.now().isAfter(deadline)) {
            throw new IOException("check '" + sql + "' on " + database + " gave up after " + Duration.between(start,
                Instant.now()).toSeconds() + " s: " + waiting);
          }
          Thread.sleep(500);
        }
      }

      private static @Nullable String single(Statement s, String query) throws SQLException {
        try (ResultSet r = s.executeQuery(query)) {
          return r.next() ? r.getString(1) : null;
        }
      }
    };
  }

  /**
   * The two-person rule for the whole recovery: the approval request {@code requestId} (opened for exactly this
   * recovery — {@link #approvalSubject}, its file's digest, the point in time) must carry {@code quorum} signatures
   * of people in {@code approvers} other than its requester. Put it first: nothing changes before it passes.
   */
  public static RecoveryStep approve(String name, Repository repository, String requestId, ApprovalSubject subject,
      Approvers approvers, int quorum, Duration timeout) {
    return new Named(name, timeout) {
      @Override
      public String describe() throws IOException {
        if (requestId == null) {
          throw new dev.savepoint.core.ApprovalException("this recovery requires " + quorum + " approvals: open a "
              + "request for it (savepoint approve --request --recovery <file> [--at T]), have approvers sign it, "
              + "and pass --approval <id>");
        }
        RestoreApprovals.Request r = approvals().load(requestId);
        return "require " + quorum + " approvals of request " + r.id() + " (opened by " + r.requester() + ": "
            + r.reason() + ")";
      }

      @Override
      public Map<String, Object> run() throws IOException {
        describe();
        RestoreApprovals.Approved a = approvals().verify(requestId, subject.plan(), subject.pointInTime(),
            subject.digest(), RECOVER, approvers, quorum);
        return Map.of("request", a.request().id(), "requester", a.request().requester(), "approvedBy", a.approvedBy(),
            "verifiedAt", a.verifiedAt().toString());
      }

      @Override
      public String stateIfFailed() {
        return "unchanged by this step (an approval changes nothing; see the steps before it)";
      }

      @Override
      public boolean repeatsOnResume() {
        return true; // verified again on every run: a report saying "approved" proves nothing
      }

      private RestoreApprovals approvals() {
        return new RestoreApprovals(repository.store(), repository.auditLog(), Duration.ZERO);
      }
    };
  }

  /** What an approval of a recovery names: the recovery, its point in time and the digest of its file. */
  public record ApprovalSubject(String plan, String pointInTime, String digest) {}

  /** The approval target of a recovery request. */
  public static final String RECOVER = RestoreApprovals.RECOVER_TARGET;

  /** The approval subject of the recovery {@code name} run as of {@code at} (null: latest) from {@code file}. */
  public static ApprovalSubject approvalSubject(String name, java.time.@Nullable Instant at, byte[] file) {
    return new ApprovalSubject("recovery:" + name, at == null ? "latest" : at.toString(),
        dev.savepoint.core.internal.Probe.sha256Of(file, 0, file.length));
  }

  /** HTTP GET until it answers 2xx (the application is back), retrying until the timeout. */
  public static RecoveryStep health(String name, URI url, Duration timeout) {
    return new Named(name, timeout) {
      @Override
      public String describe() {
        return "wait until GET " + url + " answers 2xx (at most " + timeout + ")";
      }

      @Override
      public Map<String, Object> run() throws IOException, InterruptedException {
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        // Gives up a little before the step's timeout, so the failure says what the service last answered.
        Instant deadline = giveUpBy(Instant.now(), timeout);
        String last = "no answer";
        int attempts = 0;
        while (Instant.now().isBefore(deadline)) {
          attempts++;
          try {
            Duration left = Duration.between(Instant.now(), deadline);
            HttpResponse<String> r = client.send(HttpRequest.newBuilder(url).timeout(Collections.min(List.of(
                Duration.ofSeconds(5), left.isNegative() || left.isZero() ? Duration.ofMillis(100) : left))).GET().build(),
                HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() / 100 == 2) {
              return Map.of("status", r.statusCode(), "attempts", attempts);
            }
            String body = r.body() == null ? "" : r.body().strip().replaceAll("\\s+", " ");
            last = "HTTP " + r.statusCode() + (body.isEmpty() ? "" : ": " + (body.length() > 300
                ? body.substring(0, 300) + "…" : body));
          } catch (IOException e) {
            last = e.getMessage();
          }
          Thread.sleep(500);
        }
        throw new IOException("GET " + url + " did not answer 2xx within " + timeout + " (last: " + last + ")");
      }
    };
  }
}
