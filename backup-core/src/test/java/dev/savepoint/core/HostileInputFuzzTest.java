package dev.savepoint.core;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.savepoint.core.internal.ManifestCodec;
import dev.savepoint.core.internal.Tar;
import dev.savepoint.core.sources.DirectorySource;
import dev.savepoint.core.sources.DirectoryTarget;
import dev.savepoint.core.store.FilesystemStore;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Seeded fuzzing of what a hostile repository writer controls: mutated {@code manifest.json} (every field: types,
 * sizes, digests, keys with {@code ..} or absolute paths, transform names, huge numbers, bytes flipped, cut short)
 * restored into a directory, and mutated tar streams extracted. Each input ends in a typed error
 * ({@link SavepointException}) or a correct restore — never another exception type, never a write outside the
 * target. The outcomes are counted and printed ({@code -Dsavepoint.fuzz.iterations}, default 300 per kind).
 */
class HostileInputFuzzTest {
  private static final int ITERATIONS = Integer.getInteger("savepoint.fuzz.iterations", 300);
  private static final long SEED = Long.getLong("savepoint.fuzz.seed", 24);

  @TempDir
  Path tmp;

  private static final Object[] HOSTILE = {"../../escape", "/etc/passwd", "", "x".repeat(5000), -1, 0,
      Long.MAX_VALUE, Long.MIN_VALUE, 1e308, true, null, "rot13", "zstd", "gzip", "openpgp", "..", "a/../../b",
      "00", "ZZ", List.of(), Map.of()};

  @Test
  void mutatedManifestsEndInATypedErrorOrACorrectRestore() throws Exception {
    Path src = Files.createDirectories(tmp.resolve("src"));
    Files.writeString(src.resolve("a.txt"), "alpha ".repeat(1000));
    Files.createDirectories(src.resolve("sub"));
    Files.writeString(src.resolve("sub/b.txt"), "beta");
    Path repoDir = tmp.resolve("repo");
    Repository repo = new Repository(new FilesystemStore(repoDir));
    Manifest m = BackupPlan.builder("files").source(new DirectorySource(src)).transform(Transforms.zstd())
        .repository(repo).build().run().manifest();
    Path manifestFile = repoDir.resolve("files").resolve(m.id()).resolve("manifest.json");
    byte[] original = Files.readAllBytes(manifestFile);
    JsonNode tree = ManifestCodec.JSON.readTree(original);
    List<String> paths = new ArrayList<>();
    collect(tree, "", paths);
    Random random = new Random(SEED);
    Map<String, Integer> outcomes = new TreeMap<>();
    Path outs = Files.createDirectories(tmp.resolve("outs"));
    for (int i = 0; i < ITERATIONS; i++) {
      byte[] mutated = mutate(original, tree, paths, random);
      Files.write(manifestFile, mutated);
      Path out = outs.resolve("out-" + i);
      String outcome;
      try {
        Manifest chosen = repo.select("files", BackupSelector.latest());
        repo.restore(chosen, DirectoryTarget.of(out), Secrets.none());
        assertSameTree(src, out);
        outcome = "restored correctly";
      } catch (SavepointException e) {
        outcome = "typed error: " + e.getClass().getSimpleName();
        assertThat(out).as("no partial target after " + e.getMessage()).doesNotExist();
      } catch (Exception | AssertionError e) {
        throw new AssertionError("input " + i + " (" + new String(mutated, java.nio.charset.StandardCharsets.UTF_8)
            + ") ended in " + e, e);
      }
      outcomes.merge(outcome, 1, Integer::sum);
    }
    Files.write(manifestFile, original);
    assertNothingOutside(Map.of(repoDir, "repo", src, "src", outs, "outs"));
    System.out.printf("manifest fuzz (seed %d): %d inputs: %s%n", SEED, ITERATIONS, outcomes);
    assertThat(outcomes.keySet()).as("the fuzzing reached both outcomes").anyMatch(o -> o.startsWith("typed"))
        .contains("restored correctly");
  }

  @Test
  void mutatedTarStreamsExtractInsideTheTargetOrFail() throws Exception {
    Path src = Files.createDirectories(tmp.resolve("src"));
    Files.writeString(src.resolve("a.txt"), "alpha");
    Files.createDirectories(src.resolve("sub"));
    Files.writeString(src.resolve("sub/b.txt"), "beta");
    Files.createSymbolicLink(src.resolve("sub/link"), Path.of("b.txt"));
    ByteArrayOutputStream tar = new ByteArrayOutputStream();
    Tar.write(src, tar);
    byte[] original = tar.toByteArray();
    Random random = new Random(SEED);
    Map<String, Integer> outcomes = new TreeMap<>();
    Path outs = Files.createDirectories(tmp.resolve("outs"));
    for (int i = 0; i < ITERATIONS; i++) {
      byte[] mutated = original.clone();
      int flips = 1 + random.nextInt(8);
      for (int f = 0; f < flips; f++) {
        // Mostly in the headers (the first 512 bytes of each entry), where names, types and sizes are.
        int block = random.nextInt(Math.max(1, mutated.length / 512));
        int at = Math.min(mutated.length - 1, block * 512 + random.nextInt(random.nextInt(4) == 0 ? 512 : 160));
        mutated[at] = (byte) (random.nextInt(4) == 0 ? "/.\u0000"
            .charAt(random.nextInt(3)) : random.nextInt(256));
      }
      Path out = Files.createDirectories(outs.resolve("out-" + i));
      String outcome;
      try {
        Tar.extract(new ByteArrayInputStream(mutated), out);
        outcome = "extracted";
      } catch (IOException e) {
        outcome = "refused (" + e.getClass().getSimpleName() + ")";
      } catch (RuntimeException e) {
        throw new AssertionError("tar input " + i + " ended in " + e, e);
      }
      outcomes.merge(outcome, 1, Integer::sum);
      // Every link extracted points inside the target (read with find: names may not be valid UTF-8).
      Process find = new ProcessBuilder("find", out.toString(), "-type", "l", "-printf", "%h\\t%l\\n").start();
      for (String line : new String(find.getInputStream().readAllBytes()).split("\n")) {
        if (!line.isEmpty()) {
          String[] link = line.split("\t", 2);
          assertThat(Path.of(link[0]).resolve(link[1]).normalize().startsWith(out)).as("link in " + link[0] + " to "
              + link[1] + " stays inside the target").isTrue();
        }
      }
      assertThat(find.waitFor()).isZero();
    }
    assertNothingOutside(Map.of(src, "src", outs, "outs"));
    System.out.printf("tar fuzz (seed %d): %d inputs: %s%n", SEED, ITERATIONS, outcomes);
  }

  /** Either a flip in the text, a cut, or a JSON value replaced by a hostile one. */
  private static byte[] mutate(byte[] original, JsonNode tree, List<String> paths, Random random) throws IOException {
    switch (random.nextInt(5)) {
      case 0 -> {
        byte[] b = original.clone();
        b[random.nextInt(b.length)] = (byte) random.nextInt(256);
        return b;
      }
      case 1 -> {
        return java.util.Arrays.copyOf(original, random.nextInt(original.length));
      }
      default -> {
        JsonNode copy = tree.deepCopy();
        int changes = 1 + random.nextInt(3);
        for (int c = 0; c < changes; c++) {
          replace(copy, paths.get(random.nextInt(paths.size())), HOSTILE[random.nextInt(HOSTILE.length)], random);
        }
        return ManifestCodec.JSON.writeValueAsBytes(copy);
      }
    }
  }

  private static void collect(JsonNode node, String path, List<String> paths) {
    if (!path.isEmpty()) {
      paths.add(path);
    }
    if (node.isObject()) {
      node.fieldNames().forEachRemaining(f -> collect(node.get(f), path + "/" + f, paths));
    } else if (node.isArray()) {
      for (int i = 0; i < node.size(); i++) {
        collect(node.get(i), path + "/" + i, paths);
      }
    }
  }

  private static void replace(JsonNode root, String path, Object value, Random random) {
    int slash = path.lastIndexOf('/');
    JsonNode parent = root.at(path.substring(0, slash));
    String last = path.substring(slash + 1);
    JsonNode v = ManifestCodec.JSON.valueToTree(value);
    if (parent instanceof ObjectNode o) {
      if (random.nextInt(6) == 0) {
        o.remove(last);
      } else {
        o.set(last, v);
      }
    } else if (parent instanceof ArrayNode a && last.matches("\\d+") && Integer.parseInt(last) < a.size()) {
      a.set(Integer.parseInt(last), v);
    }
  }

  private static void assertSameTree(Path expected, Path actual) throws IOException {
    try (Stream<Path> files = Files.walk(expected)) {
      for (Path f : files.filter(Files::isRegularFile).toList()) {
        assertThat(actual.resolve(expected.relativize(f))).hasSameBinaryContentAs(f);
      }
    }
    try (Stream<Path> a = Files.walk(actual); Stream<Path> e = Files.walk(expected)) {
      assertThat(a.count()).isEqualTo(e.count());
    }
  }

  /** The test's folder holds only what it made: nothing was written beside or above the targets. */
  private void assertNothingOutside(Map<Path, String> allowed) throws IOException {
    try (Stream<Path> top = Files.list(tmp)) {
      assertThat(top.map(p -> p.getFileName().toString()).toList()).containsExactlyInAnyOrderElementsOf(allowed.values());
    }
  }
}
