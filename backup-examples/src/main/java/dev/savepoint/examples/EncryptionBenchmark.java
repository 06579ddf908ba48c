package dev.savepoint.examples;

import dev.savepoint.crypto.OpenPgpEncryption;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

/**
 * OpenPGP encryption throughput of {@link OpenPgpEncryption} against {@code gpg --symmetric --cipher-algo AES256
 * --compress-algo none} on the same file, in the same run. Not a test: {@code bash scripts/benchmark.sh crypto
 * [MiB]}. Both produce the same kind of message (AES-256, SEIPD with MDC, no compression).
 */
public final class EncryptionBenchmark {
  public static void main(String[] args) throws Exception {
    long size = (args.length > 0 ? Long.parseLong(args[0]) : 1024) << 20;
    Path dir = Files.createDirectories(Path.of("savepoint-demo", "crypto-bench").toAbsolutePath());
    Path plain = dir.resolve("plain.bin");
    try (OutputStream out = Files.newOutputStream(plain)) {
      byte[] block = new byte[1 << 20];
      Random r = new Random(1);
      for (long written = 0; written < size; written += block.length) {
        r.nextBytes(block);
        out.write(block);
      }
    }
    Path passFile = Files.writeString(dir.resolve("pass"), "benchmark-passphrase");
    long start = System.nanoTime();
    Process gpg = new ProcessBuilder("gpg", "--batch", "--yes", "--pinentry-mode", "loopback", "--passphrase-file",
        passFile.toString(), "--symmetric", "--cipher-algo", "AES256", "--compress-algo", "none", "-o",
        dir.resolve("gpg.gpg").toString(), plain.toString()).inheritIO().start();
    if (gpg.waitFor() != 0) {
      throw new IllegalStateException("gpg failed");
    }
    double gpgSeconds = (System.nanoTime() - start) / 1e9;

    start = System.nanoTime();
    try (InputStream in = Files.newInputStream(plain);
        OutputStream out = OpenPgpEncryption.passphrase("benchmark-passphrase".toCharArray())
            .wrap(Files.newOutputStream(dir.resolve("savepoint.gpg")))) {
      in.transferTo(out);
    }
    double ourSeconds = (System.nanoTime() - start) / 1e9;
    double mib = size / 1048576.0;
    System.out.printf("%-40s %8s %10s%n", "encrypt " + (long) mib + " MiB", "seconds", "MiB/s");
    System.out.printf("%-40s %8.2f %10.1f%n", "gpg --symmetric --compress-algo none", gpgSeconds, mib / gpgSeconds);
    System.out.printf("%-40s %8.2f %10.1f  (%.2fx gpg)%n", "savepoint OpenPgpEncryption", ourSeconds, mib / ourSeconds,
        gpgSeconds / ourSeconds);
    Files.delete(plain);
  }
}
