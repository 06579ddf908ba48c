package dev.savepoint.cli;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Runs the CLI in a separate JVM, as users do: real exit codes, real stdout/stderr, a heap limit. */
final class CliProcess {
  record Result(int exit, String out, String err) {
    /** The lines of stderr that are not warnings (an insecure repository is named in one). */
    java.util.List<String> errors() {
      return err.strip().lines().filter(l -> !l.startsWith("savepoint: warning:")).toList();
    }
  }

  private CliProcess() {}

  static ProcessBuilder builder(String maxHeap, String... args) {
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx" + maxHeap, "-cp", System.getProperty("java.class.path"), Main.class.getName()));
    cmd.addAll(List.of(args));
    return new ProcessBuilder(cmd);
  }

  static Result run(String... args) throws IOException, InterruptedException {
    return run(Map.of(), args);
  }

  static Result run(Map<String, String> env, String... args) throws IOException, InterruptedException {
    ProcessBuilder pb = builder("256m", args).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
    pb.environment().putAll(env);
    return finish(pb.start());
  }

  /** What a process wrote to stdout, measured as it streamed: byte count and SHA-256 (no buffering). */
  record Digested(int exit, long bytes, byte[] sha256, String err) {}

  static Digested digestStdout(Process p) throws IOException, InterruptedException {
    CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> read(p.getErrorStream()));
    java.security.MessageDigest sha256;
    try {
      sha256 = java.security.MessageDigest.getInstance("SHA-256");
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    long total = 0;
    try (InputStream out = p.getInputStream()) {
      byte[] buf = new byte[1 << 16];
      int n;
      while ((n = out.read(buf)) > 0) {
        sha256.update(buf, 0, n);
        total += n;
      }
    }
    return new Digested(p.waitFor(), total, sha256.digest(), err.join());
  }

  static Result finish(Process p) throws InterruptedException {
    CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> read(p.getInputStream()));
    CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> read(p.getErrorStream()));
    if (!p.waitFor(10, TimeUnit.MINUTES)) {
      p.destroyForcibly();
      throw new AssertionError("savepoint did not finish in 10 minutes");
    }
    return new Result(p.exitValue(), out.join(), err.join());
  }

  private static String read(InputStream in) {
    try {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "";
    }
  }
}
