package dev.savepoint.crypto;

import static org.assertj.core.api.Assertions.assertThat;

import dev.savepoint.core.SavepointException;
import java.io.IOException;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Seeded mutations of OpenPGP messages (bytes flipped in packet headers and bodies, cut short, bytes inserted):
 * decryption ends in a typed error or in exactly the original plaintext — never other bytes, never another kind
 * of exception. Counts are printed ({@code -Dsavepoint.fuzz.iterations}, default 120: each decryption derives the key from the passphrase).
 */
class OpenPgpFuzzTest {
  private static final int ITERATIONS = Integer.getInteger("savepoint.fuzz.iterations", 120);
  private static final long SEED = Long.getLong("savepoint.fuzz.seed", 24);

  @Test
  void mutatedMessagesFailTypedOrDecryptToTheOriginal() throws Exception {
    OpenPgpEncryption key = OpenPgpEncryption.passphrase("fuzz passphrase".toCharArray());
    byte[] plain = new byte[40_000];
    Random random = new Random(SEED);
    for (int i = 0; i < plain.length; i++) {
      plain[i] = (byte) ("the dragon sleeps under the mountain ".charAt(i % 37) ^ (random.nextInt(16) == 0 ? 1 : 0));
    }
    byte[] message = OpenPgpInteropTest.encrypt(key, plain);
    Map<String, Integer> outcomes = new TreeMap<>();
    for (int i = 0; i < ITERATIONS; i++) {
      byte[] mutated;
      switch (random.nextInt(4)) {
        case 0 -> mutated = Arrays.copyOf(message, random.nextInt(message.length));
        case 1 -> {
          int at = random.nextInt(message.length + 1);
          byte[] extra = new byte[1 + random.nextInt(8)];
          random.nextBytes(extra);
          mutated = new byte[message.length + extra.length];
          System.arraycopy(message, 0, mutated, 0, at);
          System.arraycopy(extra, 0, mutated, at, extra.length);
          System.arraycopy(message, at, mutated, at + extra.length, message.length - at);
        }
        default -> {
          mutated = message.clone();
          int flips = 1 + random.nextInt(4);
          for (int f = 0; f < flips; f++) {
            // Half the flips in the first 64 bytes: the packet headers, the S2K and session key packet.
            int at = random.nextBoolean() ? random.nextInt(Math.min(64, mutated.length)) : random.nextInt(mutated.length);
            mutated[at] ^= (byte) (1 + random.nextInt(255));
          }
        }
      }
      String outcome;
      try {
        byte[] out = OpenPgpInteropTest.decrypt(key, mutated);
        assertThat(out).as("input %d decrypted: it must be the original", i).isEqualTo(plain);
        outcome = "decrypted to the original";
      } catch (SavepointException e) {
        outcome = "typed error: " + e.getClass().getSimpleName();
      } catch (IOException | RuntimeException e) {
        throw new AssertionError("input " + i + " ended in " + e, e);
      }
      outcomes.merge(outcome, 1, Integer::sum);
    }
    System.out.printf("OpenPGP fuzz (seed %d): %d inputs: %s%n", SEED, ITERATIONS, outcomes);
    assertThat(outcomes.keySet()).anyMatch(o -> o.startsWith("typed error"));
  }
}
