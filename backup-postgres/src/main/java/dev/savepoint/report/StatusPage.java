package dev.savepoint.report;

import org.jspecify.annotations.Nullable;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.Repository;
import dev.savepoint.postgres.RestoreDrill;
import dev.savepoint.postgres.pitr.BaseBackupSource;
import dev.savepoint.postgres.pitr.PointInTimeRestore;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;

/**
 * A self-contained HTML page (no scripts, no external assets) of a repository's state, for operators: per plan a
 * timeline of backups (bar height: stored size; width: duration) with the RPO — stretches without a backup longer
 * than it are marked red — the restore drills' times against the RTO target, the recoverable window of
 * point-in-time plans, and the storage per plan. {@code savepoint report --html page.html} writes it.
 */
public final class StatusPage {
  private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss 'UTC'")
      .withZone(ZoneOffset.UTC);
  private static final int WIDTH = 900;
  private static final int HEIGHT = 120;

  private StatusPage() {}

  /** The page for every plan of {@code repository} at {@code now}, with the given RPO and RTO targets. */
  public static String render(Repository repository, Duration rpo, Duration rto, Instant now) throws IOException {
    return render(repository, rpo, rto, now, null);
  }

  /**
   * As {@link #render(Repository, Duration, Duration, Instant)}, with {@code overdue} — the items {@code savepoint
   * report} found (null: none computed) — listed first, so the page shows what the text and JSON say.
   */
  public static String render(Repository repository, Duration rpo, Duration rto, Instant now,
      @Nullable List<String> overdue)
      throws IOException {
    StringBuilder html = new StringBuilder("""
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>Savepoint status</title>
        <style>
        body{font:14px system-ui,sans-serif;margin:24px;color:#222}
        table{border-collapse:collapse;margin:8px 0 16px}
        td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}
        th{background:#f3f3f3}
        .bad{color:#b00020;font-weight:bold}
        .ok{color:#1b7f3b}
        svg{border:1px solid #ddd;background:#fcfcfc}
        </style></head><body>
        """);
    html.append("<h1>Savepoint status</h1><p>Repository <code>").append(escape(repository.describe()))
        .append("</code> at ").append(TIME.format(now)).append(" — RPO ").append(rpo).append(", RTO target ")
        .append(rto).append("</p>\n");
    if (overdue != null) {
      if (overdue.isEmpty()) {
        html.append("<p id=\"overdue\" class=\"ok\">Nothing is overdue.</p>\n");
      } else {
        html.append("<h2 class=\"bad\">Overdue (").append(overdue.size()).append(")</h2><ul id=\"overdue\">");
        overdue.forEach(o -> html.append("<li class=\"bad\">").append(escape(o)).append("</li>"));
        html.append("</ul>\n");
      }
    }
    List<String> plans = repository.plans();
    html.append("<table id=\"summary\"><tr><th>plan</th><th>backups</th><th>newest</th><th>age</th><th>stored</th>"
        + "<th>last drill</th></tr>\n");
    List<String> sections = new ArrayList<>();
    for (String plan : plans) {
      List<Manifest> backups = repository.list(plan);
      List<RestoreDrill.Report> drills = new ArrayList<>();
      for (Manifest m : backups) {
        drills.addAll(RestoreDrill.reports(repository, m));
      }
      Manifest newest = backups.isEmpty() ? null : backups.get(backups.size() - 1);
      Duration age = newest == null ? null : Duration.between(newest.startedAt(), now);
      boolean breached = age == null || age.compareTo(rpo) > 0;
      long stored = backups.stream().mapToLong(Manifest::storedBytes).sum();
      RestoreDrill.Report lastDrill = drills.stream().max(java.util.Comparator.comparing(RestoreDrill.Report::startedAt))
          .orElse(null);
      html.append("<tr data-plan=\"").append(escape(plan)).append("\"><td>").append(escape(plan)).append("</td><td>")
          .append(backups.size()).append("</td><td>").append(newest == null ? "none" : TIME.format(newest.startedAt()))
          .append("</td><td class=\"").append(breached ? "bad" : "ok").append("\">")
          .append(age == null ? "—" : human(age)).append("</td><td>").append(bytes(stored)).append("</td><td>")
          .append(lastDrill == null ? "never" : (lastDrill.passed() ? "passed " : "FAILED ")
              + TIME.format(lastDrill.startedAt()))
          .append("</td></tr>\n");
      sections.add(section(repository, plan, backups, drills, rpo, rto, now));
    }
    html.append("</table>\n");
    sections.forEach(html::append);
    return html.append("</body></html>\n").toString();
  }

  private static String section(Repository repository, String plan, List<Manifest> backups,
      List<RestoreDrill.Report> drills, Duration rpo, Duration rto, Instant now) throws IOException {
    StringBuilder s = new StringBuilder("<h2 id=\"plan-").append(escape(plan)).append("\">").append(escape(plan))
        .append("</h2>\n");
    if (backups.stream().anyMatch(m -> m.source().type().equals(BaseBackupSource.TYPE))) {
      try {
        PointInTimeRestore.Window w = new PointInTimeRestore(repository, plan).window();
        s.append("<p class=\"window\">Recoverable from ").append(TIME.format(w.from())).append(" to ")
            .append(TIME.format(w.to())).append(" (newest durable WAL ").append(human(Duration.between(w.to(), now)))
            .append(" old)</p>\n");
      } catch (IOException e) {
        s.append("<p class=\"bad\">No recoverable window: ").append(escape(String.valueOf(e.getMessage()))).append("</p>\n");
      }
    }
    if (backups.isEmpty()) {
      return s.append("<p class=\"bad\">No complete backup.</p>\n").toString();
    }
    Instant from = backups.get(0).startedAt();
    double span = Math.max(1, Duration.between(from, now).toMillis());
    long maxStored = Math.max(1, backups.stream().mapToLong(Manifest::storedBytes).max().orElse(1));
    s.append("<svg width=\"").append(WIDTH).append("\" height=\"").append(HEIGHT + 20)
        .append("\" role=\"img\" aria-label=\"backups of ").append(escape(plan)).append("\">");
    Instant previous = null;
    List<Instant> points = new ArrayList<>(backups.stream().map(Manifest::startedAt).toList());
    points.add(now);
    for (Instant t : points) {
      if (previous != null && Duration.between(previous, t).compareTo(rpo) > 0) {
        double x1 = x(previous, from, span);
        double x2 = x(t, from, span);
        s.append(String.format(java.util.Locale.ROOT, "<rect class=\"breach\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" "
            + "height=\"6\" fill=\"#b00020\"><title>no backup for %s</title></rect>", x1, HEIGHT + 4,
            Math.max(1, x2 - x1), human(Duration.between(previous, t))));
      }
      previous = t;
    }
    for (Manifest m : backups) {
      double h = Math.max(2, (HEIGHT - 10) * (double) m.storedBytes() / maxStored);
      double w = Math.max(3, WIDTH * m.duration().toMillis() / span);
      s.append(String.format(java.util.Locale.ROOT, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
          + "fill=\"#3b6ea5\"><title>%s: %s stored, %s</title></rect>", x(m.startedAt(), from, span), HEIGHT - h, w, h,
          escape(m.id()), bytes(m.storedBytes()), human(m.duration())));
    }
    s.append("</svg>\n<p>").append(backups.size()).append(" backups from ").append(TIME.format(from))
        .append("; red: stretches longer than the RPO (").append(rpo).append(") without a backup.</p>\n");
    if (!drills.isEmpty()) {
      s.append("<table class=\"drills\"><tr><th>drill</th><th>backup</th><th>restore time</th><th>RTO target</th>"
          + "<th>result</th></tr>\n");
      for (RestoreDrill.Report d : drills) {
        Duration took = Duration.ofMillis(d.restoreMillis());
        s.append("<tr><td>").append(TIME.format(d.startedAt())).append("</td><td>").append(escape(d.backupId()))
            .append("</td><td class=\"").append(took.compareTo(rto) > 0 ? "bad" : "ok").append("\">")
            .append(human(took)).append("</td><td>").append(rto).append("</td><td class=\"")
            .append(d.passed() ? "ok\">passed, " + d.rowsChecked() + " rows checked" : "bad\">FAILED")
            .append("</td></tr>\n");
      }
      s.append("</table>\n");
    }
    return s.toString();
  }

  private static double x(Instant t, Instant from, double span) {
    return WIDTH * Duration.between(from, t).toMillis() / span;
  }

  static String human(Duration d) {
    long s = d.toSeconds();
    return s < 120 ? (d.toMillis() < 10_000 ? String.format(java.util.Locale.ROOT, "%.1f s", d.toMillis() / 1000.0)
        : s + " s") : s < 7200 ? s / 60 + " min" : s < 172_800 ? s / 3600 + " h" : s / 86_400 + " d";
  }

  static String bytes(long n) {
    return n < 1024 ? n + " B" : n < 1 << 20 ? String.format(java.util.Locale.ROOT, "%.1f KiB", n / 1024.0)
        : n < 1L << 30 ? String.format(java.util.Locale.ROOT, "%.1f MiB", n / 1048576.0)
        : String.format(java.util.Locale.ROOT, "%.2f GiB", n / 1073741824.0);
  }

  static String escape(String s) {
    return s == null ? "" : s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
  }
}
