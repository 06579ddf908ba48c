package dev.savepoint.core.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Who holds a lease: this process, named so that another process on the same machine can tell that it died.
 * The machine is Linux's boot id with the PID namespace (two containers' process ids are not comparable);
 * elsewhere there is no such name and a lease only lapses with time.
 */
public final class Holder {
  private static final Optional<String> MACHINE = machine();

  private Holder() {}

  private static Optional<String> machine() {
    try {
      String boot = Files.readString(Path.of("/proc/sys/kernel/random/boot_id"), StandardCharsets.US_ASCII).strip();
      String pidNamespace = Files.readSymbolicLink(Path.of("/proc/self/ns/pid")).toString();
      return Optional.of(boot + "/" + pidNamespace.replaceAll("\\D", ""));
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    }
  }

  /** The line a lease names its holder with ({@code holder <machine> <pid>}), or an empty string. */
  public static String line() {
    return MACHINE.map(m -> "holder " + m + " " + ProcessHandle.current().pid() + "\n").orElse("");
  }

  /** True when {@code leaseText} names a holder on this machine that is no longer running. */
  public static boolean isDead(String leaseText) {
    if (MACHINE.isEmpty()) {
      return false;
    }
    for (String line : leaseText.split("\n")) {
      String[] parts = line.split(" ");
      if (parts.length == 3 && parts[0].equals("holder") && parts[1].equals(MACHINE.get())
          && parts[2].matches("\\d{1,10}")) {
        return ProcessHandle.of(Long.parseLong(parts[2])).map(h -> !h.isAlive()).orElse(true);
      }
    }
    return false;
  }
}
