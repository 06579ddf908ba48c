package dev.savepoint.examples.spring;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Issue 40: a service adopts Savepoint as its users would — a plain Maven project with the BOM and the test kit
 * (S3 server included), and a Spring Boot project with Spring Boot's BOM first — built offline against this build's
 * artifacts: the enforcer's dependency convergence holds with no exclusions, and each project's own test passes.
 *
 * <p>The artifacts come from this reactor's {@code target/} directories (not from an earlier {@code mvn install}),
 * in a local repository that borrows every other library from the machine's.
 */
class ConsumerProjectTest {
  @TempDir
  Path tmp;

  @ParameterizedTest
  @ValueSource(strings = {"plain", "spring"})
  void aConsumerProjectBuildsAndPassesItsTests(String consumer) throws Exception {
    Path repository = localRepository();
    Path project = tmp.resolve(consumer);
    copy(Path.of("src/test/resources/consumers", consumer), project);
    List<String> command = new ArrayList<>(List.of("mvn", "-B", "-o", "-ntp", "test",
        "-Dmaven.repo.local=" + repository, "-Dsavepoint.version=" + property("savepoint.version"),
        "-Dspring-boot.version=" + property("savepoint.springBootVersion")));
    Process build = new ProcessBuilder(command).directory(project.toFile()).redirectErrorStream(true)
        .redirectOutput(tmp.resolve(consumer + ".log").toFile()).start();
    assertThat(build.waitFor(8, TimeUnit.MINUTES)).as("the build finished").isTrue();
    String log = Files.readString(tmp.resolve(consumer + ".log"), StandardCharsets.UTF_8);
    assertThat(build.exitValue()).as(log.length() > 20_000 ? log.substring(log.length() - 20_000) : log).isZero();
    assertThat(log).contains("Rule 0: org.apache.maven.enforcer.rules.dependency.DependencyConvergence passed",
        "Tests run: " , "BUILD SUCCESS").doesNotContain("Tests run: 0,").doesNotContainPattern("Skipped: [1-9]");
  }

  private static String property(String name) {
    String value = System.getProperty(name);
    assertThat(value).as(name + " (set by this module's surefire configuration)").isNotBlank();
    return value;
  }

  /** This build's artifacts, laid out as a local repository; every other group borrowed from the machine's. */
  private Path localRepository() throws IOException {
    Path machine = Path.of(property("savepoint.localRepository"));
    Path repository = Files.createDirectories(tmp.resolve("m2"));
    try (Stream<Path> groups = Files.list(machine)) {
      for (Path group : groups.toList()) {
        if (!group.getFileName().toString().equals("dev")) {
          Files.createSymbolicLink(repository.resolve(group.getFileName()), group);
        }
      }
    }
    Path dev = Files.createDirectories(repository.resolve("dev"));
    if (Files.isDirectory(machine.resolve("dev"))) {
      try (Stream<Path> groups = Files.list(machine.resolve("dev"))) {
        for (Path group : groups.filter(g -> !g.getFileName().toString().equals("savepoint")).toList()) {
          Files.createSymbolicLink(dev.resolve(group.getFileName()), group);
        }
      }
    }
    String version = property("savepoint.version");
    Path root = Path.of("..").toRealPath();
    install(repository, "savepoint-bom", version, root.resolve("backup-bom/pom.xml"), null);
    install(repository, "savepoint-parent", version, root.resolve("pom.xml"), null);
    try (Stream<Path> modules = Files.list(root)) {
      for (Path module : modules.filter(m -> m.getFileName().toString().startsWith("backup-")
          && Files.exists(m.resolve("target/" + m.getFileName() + "-" + version + ".jar"))).toList()) {
        String artifact = module.getFileName().toString();
        install(repository, artifact, version, module.resolve("pom.xml"),
            module.resolve("target/" + artifact + "-" + version + ".jar"));
      }
    }
    return repository;
  }

  private static void install(Path repository, String artifact, String version, Path pom, Path jar)
      throws IOException {
    Path dir = Files.createDirectories(repository.resolve("dev/savepoint/" + artifact + "/" + version));
    Files.copy(pom, dir.resolve(artifact + "-" + version + ".pom"));
    if (jar != null) {
      Files.copy(jar, dir.resolve(artifact + "-" + version + ".jar"));
    }
  }

  private static void copy(Path from, Path to) throws IOException {
    try (Stream<Path> files = Files.walk(from)) {
      for (Path f : files.toList()) {
        Path target = to.resolve(from.relativize(f).toString());
        if (Files.isDirectory(f)) {
          Files.createDirectories(target);
        } else {
          Files.copy(f, target);
        }
      }
    }
  }
}
