package dev.savepoint.core.security;

import dev.savepoint.core.ConfigurationException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * Who may approve restores: the people and their SSH keys, read from an OpenSSH {@code allowed_signers} file
 * that lives outside the repository (whoever can write the repository must not be able to add an approver).
 * An approval is an SSH signature ({@code ssh-keygen -Y sign -n savepoint-restore}) over a request's canonical
 * document, made with the approver's own key on their own machine. {@link #verify} checks one with OpenSSH's own
 * {@code ssh-keygen -Y verify} against the file, so the file means exactly what it means to OpenSSH — every option
 * ({@code valid-before}, {@code valid-after}, {@code namespaces}, {@code cert-authority}) included — and says whose
 * key it is. Needs {@code ssh-keygen} (OpenSSH 8.2 or later) on the verifying host. Immutable and thread-safe.
 */
public final class Approvers {
  /** The SSH signature namespace of restore approvals. */
  public static final String NAMESPACE = "savepoint-restore";

  /** A verified signature: the principal the allowed-signers file names for its key, and the key's fingerprint. */
  public record Signer(String principal, String fingerprint) {}

  private final Path file;
  private final List<String> principals;
  private final String namespace;

  private Approvers(Path file, List<String> principals, String namespace) {
    this.file = file;
    this.principals = List.copyOf(principals);
    this.namespace = namespace;
  }

  /** The same people, checking signatures made in {@code namespace} instead (policy admins sign policies). */
  public Approvers inNamespace(String namespace) {
    return new Approvers(file, principals, namespace);
  }

  /**
   * Approvers from {@code allowed_signers} text held elsewhere (an {@link ApprovalPolicy}): written to a private
   * temporary file that {@code ssh-keygen} reads, deleted when the JVM exits. {@code origin} names the text in errors.
   */
  public static Approvers fromText(String allowedSigners, String origin) throws IOException {
    Path file = Files.createTempFile("savepoint-signers-", ".txt");
    file.toFile().deleteOnExit();
    Files.writeString(file, allowedSigners);
    try {
      return fromAllowedSigners(file);
    } catch (ConfigurationException e) {
      throw new ConfigurationException(String.valueOf(e.getMessage()).replace("approvers file " + file, origin));
    }
  }

  /** The principals {@code allowed_signers} lines name (the first field, comma-separated), sorted, once each. */
  static List<String> principalsOf(List<String> allowedSigners) {
    java.util.TreeSet<String> principals = new java.util.TreeSet<>();
    for (String line : allowedSigners) {
      String text = line.strip();
      if (!text.isEmpty() && !text.startsWith("#")) {
        principals.addAll(List.of(text.split("\\s+")[0].split(",")));
      }
    }
    return new ArrayList<>(principals);
  }

  /**
   * Reads an OpenSSH {@code allowed_signers} file: {@code principal[,principal...] [options] keytype <key>
   * [comment]} per line. Refused if it lists no key or {@code ssh-keygen} cannot be run.
   */
  public static Approvers fromAllowedSigners(Path file) throws IOException {
    if (!Files.isRegularFile(file)) {
      throw new ConfigurationException("approvers file " + file + " does not exist");
    }
    List<String> principals = principalsOf(Files.readAllLines(file));
    if (principals.isEmpty()) {
      throw new ConfigurationException("approvers file " + file + " lists no keys");
    }
    try {
      new ProcessBuilder("ssh-keygen", "-?").redirectErrorStream(true).start().waitFor();
    } catch (IOException e) {
      throw new ConfigurationException("checking approvals needs ssh-keygen (OpenSSH 8.2+; apt-get install "
          + "openssh-client): " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("interrupted while looking for ssh-keygen");
    }
    return new Approvers(file.toAbsolutePath(), principals, NAMESPACE);
  }

  /**
   * The principal whose listed key made {@code armoredSignature} (an {@code -----BEGIN SSH SIGNATURE-----}
   * block) over {@code document} in the {@value #NAMESPACE} namespace (or the one {@link #inNamespace} gave); empty if it is not a valid signature by a
   * listed key (unlisted key, other namespace, other document, malformed, outside the key's validity).
   */
  public Optional<String> signer(byte[] document, String armoredSignature) {
    return verify(document, armoredSignature).map(Signer::principal);
  }

  /** As {@link #signer}, with the key's fingerprint. */
  public Optional<Signer> verify(byte[] document, String armoredSignature) {
    Path dir = null;
    try {
      dir = Files.createTempDirectory("savepoint-approval-");
      Path sig = Files.writeString(dir.resolve("approval.sig"), armoredSignature);
      Result found = ssh(null, "-Y", "find-principals", "-s", sig.toString(), "-f", file.toString());
      if (found.exit() != 0) {
        return Optional.empty();
      }
      for (String principal : found.out().strip().split("\\R")) {
        if (principal.isBlank()) {
          continue;
        }
        Result verified = ssh(document, "-Y", "verify", "-f", file.toString(), "-I", principal.strip(), "-n",
            namespace, "-s", sig.toString());
        if (verified.exit() == 0) {
          java.util.regex.Matcher m = java.util.regex.Pattern.compile("key (\\S+:\\S+)").matcher(verified.out());
          return Optional.of(new Signer(principal.strip(), m.find() ? m.group(1) : "unknown"));
        }
      }
      return Optional.empty();
    } catch (IOException e) {
      return Optional.empty();
    } finally {
      if (dir != null) {
        try (var files = Files.walk(dir)) {
          files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException ignored) {
          // a temporary directory of a signature (public data)
        }
      }
    }
  }

  /** The principals this file lists. */
  public List<String> principals() {
    return principals;
  }

  private record Result(int exit, String out) {}

  private static Result ssh(byte @Nullable [] stdin, String... args) throws IOException {
    List<String> command = new ArrayList<>(List.of("ssh-keygen"));
    command.addAll(List.of(args));
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    try (var in = p.getOutputStream()) {
      if (stdin != null) {
        in.write(stdin);
      }
    }
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    try {
      return new Result(p.waitFor(), out);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      p.destroyForcibly();
      throw new java.io.InterruptedIOException("interrupted while verifying a signature");
    }
  }
}
