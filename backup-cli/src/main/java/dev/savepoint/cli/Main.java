package dev.savepoint.cli;

import dev.savepoint.core.ApprovalException;
import dev.savepoint.core.ConfigurationException;
import dev.savepoint.core.CryptoException;
import dev.savepoint.core.IntegrityException;
import java.io.PrintWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine;

/**
 * The {@code savepoint} command line. Exit codes: 0 success, 1 operation failed, 2 usage or configuration
 * error, 3 integrity or verification failure. Errors are one line on stderr; {@code --verbose} adds the
 * stack trace and info logging.
 */
@Command(name = "savepoint", mixinStandardHelpOptions = true, scope = CommandLine.ScopeType.INHERIT,
    version = "savepoint 0.1.0",
    description = "Back up, verify and restore PostgreSQL databases, files and configuration.",
    subcommands = {BackupCommand.class, ListCommand.class, VerifyCommand.class, RestoreCommand.class,
        CleanupCommand.class, DrillCommand.class, PruneCommand.class, ApproveCommand.class, PolicyCommand.class,
        RunCommand.class, ReportCommand.class,
        AuditCommand.class, CheckCommand.class, DeleteCommand.class, RepoCommand.class, BaseBackupCommand.class, WalCommand.class, RecoverCommand.class,
        CommandLine.HelpCommand.class})
public final class Main {
  public static final int OK = 0;
  public static final int FAILED = 1;
  public static final int USAGE = 2;
  public static final int INTEGRITY = 3;

  @Option(names = "--verbose", scope = CommandLine.ScopeType.INHERIT,
      description = "Log progress details and print stack traces of errors.")
  static boolean verbose;

  @Option(names = "--debug", scope = CommandLine.ScopeType.INHERIT,
      description = "As --verbose, plus what each stage does: every artifact opened, stored or read, with sizes, "
          + "transforms and timings (Savepoint's own loggers at DEBUG).")
  static boolean debug;

  public static void main(String[] args) {
    System.exit(run(args));
  }

  public static int run(String... args) {
    Audit.broken = null;
    boolean debugArg = java.util.Arrays.asList(args).contains("--debug");
    boolean verboseArg = debugArg || java.util.Arrays.asList(args).contains("--verbose");
    System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", verboseArg ? "info" : "error");
    if (debugArg) {
      System.setProperty("org.slf4j.simpleLogger.log.dev.savepoint", "debug");
    } else {
      // A provider's restore takes minutes with nothing else to show: its progress and retries are always shown. So
      // are the long-running daemons' state changes (wal stream: connected, timeline, retries, stopped; run
      // --schedule: slots run or skipped), which nobody watches but their logs.
      System.setProperty("org.slf4j.simpleLogger.log.dev.savepoint.providers", "info");
      System.setProperty("org.slf4j.simpleLogger.log.dev.savepoint.postgres.pitr.WalStreamer", "info");
      System.setProperty("org.slf4j.simpleLogger.log.dev.savepoint.core.operations.Scheduler", "info");
      // A recovery says its report id first and each step as it starts and ends: after an SSH drop the id is on screen.
      System.setProperty("org.slf4j.simpleLogger.log.dev.savepoint.recovery.RecoveryPlan", "info");
    }
    System.setProperty("org.slf4j.simpleLogger.logFile", "System.err");
    CommandLine cli = new CommandLine(new Main());
    cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
      int code = exitCode(e);
      PrintWriter err = cmd.getErr();
      err.println("savepoint: " + message(e));
      if (verboseArg) {
        e.printStackTrace(err);
      }
      err.flush();
      return code;
    });
    cli.setParameterExceptionHandler((e, a) -> {
      PrintWriter err = e.getCommandLine().getErr();
      err.println("savepoint: " + e.getMessage());
      err.println("Try '" + e.getCommandLine().getCommandSpec().qualifiedName() + " --help'.");
      err.flush();
      return USAGE;
    });
    if (args.length == 0) {
      cli.usage(cli.getErr());
      return USAGE;
    }
    Approvals.notice = null;
    int code = cli.execute(args);
    if (code == OK && Approvals.notice != null) {
      System.err.println(Approvals.notice); // after the work, so that an error stays one line
    }
    if (code == OK && Audit.broken != null) {
      return FAILED; // done, but not on the record: an unattended run must not look green (already said on stderr)
    }
    return code;
  }

  static int exitCode(Throwable e) {
    // A stored object a backup or WAL record names is gone: the backup is damaged, whichever command found it.
    if (e instanceof IntegrityException || e instanceof VerificationFailedException
        || e instanceof dev.savepoint.core.ObjectNotFoundException) {
      return INTEGRITY;
    }
    // A plan or backup id that is not there is the operator's typo, as it is for list; a target holding data that
    // was not to be replaced is the operator's choice to make.
    if (e instanceof ConfigurationException || e instanceof CryptoException || e instanceof ApprovalException
        || e instanceof IllegalArgumentException || e instanceof dev.savepoint.core.BackupNotFoundException
        || e instanceof dev.savepoint.core.TargetNotEmptyException) {
      return USAGE;
    }
    return FAILED;
  }

  static String message(Throwable e) {
    String m = e.getMessage();
    if (e instanceof java.nio.file.NoSuchFileException missing) {
      m = "no such file: " + missing.getFile(); // the JDK's message is the bare path
    } else if (e instanceof java.nio.file.AccessDeniedException denied) {
      m = "permission denied: " + denied.getFile();
    } else if (m == null || m.isBlank()) {
      m = e.getClass().getSimpleName();
    }
    // One line: multi-line tool output (pg_dump stderr) is folded.
    return m.strip().replaceAll("\\s*\\R\\s*", " | ");
  }

  /** Thrown by commands when verification found a problem: exit code 3. */
  static final class VerificationFailedException extends RuntimeException {
    VerificationFailedException(String message) {
      super(message);
    }
  }
}
