package dev.savepoint.testkit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * The real {@code gpg} binary in a private, throwaway home (mode 0700), for interoperability tests. Runs
 * non-interactively ({@code --batch --pinentry-mode loopback}). {@link #close()} stops its agent and deletes
 * the home. Skips the test if gpg is missing, except when {@code CI=true}: then it fails.
 */
public final class Gpg implements AutoCloseable {
  private final Path home;

  public Gpg(Path parent) throws IOException {
    if (!onPath("gpg")) {
      String why = "gpg is not installed (apt-get install gnupg)";
      if ("true".equalsIgnoreCase(System.getenv("CI"))) {
        throw new IllegalStateException(why + "; CI=true, so this is a failure, not a skip");
      }
      Assumptions.abort(why);
    }
    home = Files.createDirectories(parent.resolve("gnupg"));
    Files.setPosixFilePermissions(home, PosixFilePermissions.fromString("rwx------"));
  }

  private static boolean onPath(String tool) {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
      if (Files.isExecutable(Path.of(dir, tool))) {
        return true;
      }
    }
    return false;
  }

  /** Runs gpg with {@code args}; returns stdout; throws with stderr if it fails. */
  public byte[] run(String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of("gpg", "--homedir", home.toString(), "--batch", "--yes",
        "--pinentry-mode", "loopback", "--no-tty"));
    cmd.addAll(Arrays.asList(args));
    Path err = Files.createTempFile(home, "stderr", ".txt");
    Process p = new ProcessBuilder(cmd).redirectError(err.toFile())
        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
    byte[] out = p.getInputStream().readAllBytes();
    if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IOException("gpg " + String.join(" ", args) + " failed: " + Files.readString(err));
    }
    return out;
  }

  /**
   * Generates a key pair without passphrase: {@code rsa3072} or {@code cv25519} encryption subkey under a
   * signing primary key. Returns the primary key's fingerprint.
   */
  public String generateKey(String userId, String encryptionAlgorithm) throws IOException, InterruptedException {
    String primary = encryptionAlgorithm.startsWith("rsa") ? encryptionAlgorithm : "ed25519";
    run("--passphrase", "", "--quick-gen-key", userId, primary, "sign", "never");
    String fpr = new String(run("--with-colons", "--list-keys", userId), StandardCharsets.UTF_8).lines()
        .filter(l -> l.startsWith("fpr:")).findFirst().orElseThrow().split(":")[9];
    run("--passphrase", "", "--quick-add-key", fpr, encryptionAlgorithm, "encr", "never");
    return fpr;
  }

  public Path home() {
    return home;
  }

  @Override
  public void close() throws IOException, InterruptedException {
    new ProcessBuilder("gpgconf", "--homedir", home.toString(), "--kill", "gpg-agent").start().waitFor(30, TimeUnit.SECONDS);
  }
}
