package dev.savepoint.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.savepoint.core.SavepointException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Seeded mutations of a plan file (values replaced by hostile ones, characters flipped, lines cut): reading it
 * and building its plans ends in a {@link SavepointException} (the CLI's one clear line) or in valid plans — never
 * another exception. Counts are printed ({@code -Dsavepoint.fuzz.iterations}, default 300).
 */
class PlanFileFuzzTest {
  private static final int ITERATIONS = Integer.getInteger("savepoint.fuzz.iterations", 300);
  private static final long SEED = Long.getLong("savepoint.fuzz.seed", 24);
  private static final String[] HOSTILE = {"", "~", "null", "[]", "{}", "-1", "0", "99999999999999999999", "1e308",
      "\"../../x\"", "/etc/passwd", "file:", "s3://", "gs://", "postgresql://", "env:", "\"* * *\"", "\"61 * * * *\"",
      "P-1D", "PT", "Mars/Olympus", "true", "\"\\u0000\"", "'", "\"", "&a", "*a", "!!binary x", "{a: [}"};

  @TempDir
  Path tmp;

  @Test
  void mutatedPlanFilesEndInATypedErrorOrValidPlans() throws Exception {
    Path data = Files.writeString(tmp.resolve("settings.json"), "{\"dice\":\"d20\"}");
    String valid = """
        plans:
          - name: settings
            tier: tier2
            schedule: "0 3 * * 0"
            zone: Asia/Tokyo
            source: file:%s
            compress: zstd
            level: 3
            repository: file:%s
            insecureUnsigned: true
            archive: file:%s
            rpo: PT1H
            minSizeBytes: 1
            retention: {keepLast: 2, keepDaily: 7, keepWithin: P7D}
        """.formatted(data, tmp.resolve("primary"), tmp.resolve("archive"));
    String[] lines = valid.split("\n");
    Random random = new Random(SEED);
    Map<String, Integer> outcomes = new TreeMap<>();
    for (int i = 0; i < ITERATIONS; i++) {
      String[] mutated = lines.clone();
      int changes = 1 + random.nextInt(3);
      for (int c = 0; c < changes; c++) {
        int line = random.nextInt(mutated.length);
        String l = mutated[line];
        switch (random.nextInt(4)) {
          case 0 -> mutated[line] = l.contains(": ") ? l.substring(0, l.indexOf(": ") + 2)
              + HOSTILE[random.nextInt(HOSTILE.length)] : l;
          case 1 -> mutated[line] = l.isEmpty() ? l : l.substring(0, random.nextInt(l.length()));
          case 2 -> {
            char[] chars = l.toCharArray();
            if (chars.length > 0) {
              chars[random.nextInt(chars.length)] = ":-[]{}#&*!|>'\"%@` \t".charAt(random.nextInt(19));
            }
            mutated[line] = new String(chars);
          }
          default -> mutated[line] = "";
        }
      }
      Path file = Files.writeString(tmp.resolve("plans-" + i + ".yaml"), String.join("\n", mutated));
      String outcome;
      try {
        for (PlanFile.PlanSpec spec : PlanFile.read(file)) {
          PlanFile.build(spec);
        }
        outcome = "valid plans";
      } catch (SavepointException e) {
        outcome = "typed error: " + e.getClass().getSimpleName();
      } catch (Exception e) {
        throw new AssertionError("plan file " + i + ":\n" + String.join("\n", mutated) + "\nended in " + e, e);
      }
      outcomes.merge(outcome, 1, Integer::sum);
    }
    System.out.printf("plan file fuzz (seed %d): %d inputs: %s%n", SEED, ITERATIONS, outcomes);
    assertThat(outcomes).containsKey("valid plans");
  }
}
