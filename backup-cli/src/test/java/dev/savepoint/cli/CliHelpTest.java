package dev.savepoint.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * Every help text is written as the format string picocli renders it with: a bare '%' (archive_command's %p, the
 * %unsafe folder) made `--help` print a "[picocli WARN] Could not format" line for each such text.
 */
class CliHelpTest {
  @Test
  void everyDescriptionIsAValidFormatString() {
    List<String> rendered = new ArrayList<>();
    check(new CommandLine(new Main()).getCommandSpec(), rendered);
    assertThat(rendered).as("descriptions checked").hasSizeGreaterThan(100)
        .anyMatch(s -> s.contains("… %p'")).anyMatch(s -> s.contains(" %unsafe/"));
  }

  /** The descriptions as written in the annotations of {@code spec}'s command, its mixins and its subcommands. */
  private static void check(CommandSpec spec, List<String> rendered) {
    List<String> texts = new ArrayList<>();
    List<Object> parts = new ArrayList<>(List.of(spec.userObject()));
    spec.mixins().values().forEach(m -> parts.add(m.userObject()));
    for (Object part : parts) {
      Command command = part.getClass().getAnnotation(Command.class);
      if (command != null) {
        texts.addAll(List.of(command.description()));
      }
      for (Class<?> c = part.getClass(); c != null; c = c.getSuperclass()) {
        for (Field f : c.getDeclaredFields()) {
          if (f.isAnnotationPresent(Option.class)) {
            texts.addAll(List.of(f.getAnnotation(Option.class).description()));
          }
          if (f.isAnnotationPresent(Parameters.class)) {
            texts.addAll(List.of(f.getAnnotation(Parameters.class).description()));
          }
        }
      }
    }
    for (String text : texts) {
      assertThatCode(() -> rendered.add(String.format(text))).as("%s: %s", spec.qualifiedName(), text.replace("%", "%%"))
          .doesNotThrowAnyException();
    }
    spec.subcommands().values().forEach(sub -> check(sub.getCommandSpec(), rendered));
  }
}
