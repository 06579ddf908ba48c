package dev.savepoint.testkit;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.jspecify.annotations.Nullable;

/** SSH keys and signatures made with the real {@code ssh-keygen}, as approvers make them. */
public final class SshKeys {
  private SshKeys() {}

  /** A new ed25519 key pair {@code dir/name} and {@code dir/name.pub}, without a passphrase. */
  public static Path create(Path dir, String name) throws IOException, InterruptedException {
    Path key = dir.resolve(name);
    run(null, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", key.toString());
    return key;
  }

  /** The {@code allowed_signers} line of {@code key} for {@code principal}. */
  public static String allowedSigner(String principal, Path key) throws IOException {
    return principal + " " + Files.readString(Path.of(key + ".pub")).strip();
  }

  /** {@code ssh-keygen -Y sign -n namespace} over {@code data}: an armored SSH signature. */
  public static String sign(Path key, String namespace, byte[] data) throws IOException, InterruptedException {
    return run(data, "ssh-keygen", "-q", "-Y", "sign", "-n", namespace, "-f", key.toString());
  }

  private static String run(byte @Nullable [] stdin, String... command) throws IOException, InterruptedException {
    Process p;
    try {
      p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    } catch (IOException e) {
      throw new IOException("ssh-keygen is needed (apt-get install openssh-client): " + e.getMessage(), e);
    }
    try (OutputStream in = p.getOutputStream()) {
      if (stdin != null) {
        in.write(stdin);
      }
    }
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (p.waitFor() != 0) {
      throw new IOException(String.join(" ", command) + " failed with exit " + p.exitValue());
    }
    return out;
  }
}
