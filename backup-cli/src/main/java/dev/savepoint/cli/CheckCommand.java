package dev.savepoint.cli;

import dev.savepoint.core.Source;
import dev.savepoint.postgres.BackupScope;
import dev.savepoint.postgres.PostgresSource;
import dev.savepoint.postgres.PostgresUrl;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The preflight of a PostgreSQL backup, without backing anything up: what each plan will copy (named tables
 * with their resolved partitions and children, tables kept as definitions only), what the backup role cannot
 * read completely, and, for a plan file, the tables whose rows no plan copies.
 */
@Command(name = "check", description = "Check what PostgreSQL backups will hold, without backing up: the tables "
    + "each plan copies (partitions resolved), what the role cannot read (privileges, row-level security), and "
    + "tables no plan of a plan file covers. Exit 1 if a backup would be refused.")
final class CheckCommand implements Callable<Integer> {
  static final class Target {
    @Option(names = "--source", paramLabel = "<postgresql-url>", description = "A database to check as a whole.")
    String source;

    @Option(names = "--config", paramLabel = "<file>", description = "A plan file: check each PostgreSQL plan.")
    Path config;
  }

  @ArgGroup(multiplicity = "1")
  Target target;

  @Override
  public Integer call() throws Exception {
    Map<String, PostgresSource> sources = new LinkedHashMap<>();
    if (target.source != null) {
      sources.put("database", PostgresSource.builder(PostgresUrl.parse(target.source)).build());
    } else {
      for (PlanFile.PlanSpec spec : PlanFile.read(target.config)) {
        Source source = PlanFile.source(spec);
        if (source instanceof PostgresSource pg) {
          sources.put("plan '" + spec.name() + "'", pg);
        }
      }
    }
    boolean refused = false;
    Map<String, Set<String>> coveredByDatabase = new LinkedHashMap<>();
    Map<String, PostgresUrl> urls = new LinkedHashMap<>();
    for (Map.Entry<String, PostgresSource> e : sources.entrySet()) {
      BackupScope scope = e.getValue().scope();
      System.out.printf("%s: database %s as role %s%n", e.getKey(), scope.database(), scope.role());
      scope.named().forEach((name, relations) -> System.out.printf("  %s -> %s%n", name,
          relations.isEmpty() ? "(no relation holding rows)" : String.join(", ", relations)));
      System.out.printf("  copies the rows of %d table(s); definitions only: %d; left out: %d%n",
          scope.copied().size(), scope.schemaOnly().size(), scope.excluded().size());
      for (String problem : scope.unreadable()) {
        System.out.println("  CANNOT READ " + problem);
        refused = true;
      }
      java.util.Optional<String> tools = e.getValue().clientToolProblem();
      if (tools.isPresent()) {
        System.out.println("  CANNOT BACK UP HERE: " + tools.get());
        refused = true;
      }
      coveredByDatabase.computeIfAbsent(scope.database(), d -> new LinkedHashSet<>()).addAll(scope.copied());
      urls.putIfAbsent(scope.database(), e.getValue().url());
    }
    if (target.config != null) {
      for (Map.Entry<String, Set<String>> e : coveredByDatabase.entrySet()) {
        List<String> uncovered = new ArrayList<>(PostgresSource.builder(urls.get(e.getKey())).build().scope().copied());
        uncovered.removeAll(e.getValue());
        System.out.printf("database %s: %s%n", e.getKey(), uncovered.isEmpty() ? "every table is in a plan"
            : "tables whose rows no plan copies: " + String.join(", ", uncovered));
      }
    }
    if (refused) {
      System.err.println("savepoint: a backup would be refused (see CANNOT READ / CANNOT BACK UP HERE)");
      return Main.FAILED;
    }
    return Main.OK;
  }
}
