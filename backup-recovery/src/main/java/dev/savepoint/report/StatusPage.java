package dev.savepoint.report;

import dev.savepoint.report.StatusReport.Attention;
import dev.savepoint.report.StatusReport.Backup;
import dev.savepoint.report.StatusReport.Drill;
import dev.savepoint.report.StatusReport.Gap;
import dev.savepoint.report.StatusReport.PlanStatus;
import dev.savepoint.report.StatusReport.Window;
import dev.savepoint.report.internal.Svg;
import dev.savepoint.report.internal.TimeAxis;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;

/**
 * The status page of a {@link StatusReport}: one self-contained HTML file (no scripts, no external assets) that reads
 * on a phone, in dark mode, printed and without colour (hatching and labels carry every warning). Top: what needs
 * attention, each with its command — exactly the report's list. Per plan: a timeline on a labelled axis in the plan's
 * zone (UTC in each tick's tooltip) with every backup as a mark sized by its stored bytes, every stretch longer than
 * the RPO hatched and labelled with its length, the age of the newest backup against the RPO line, and for
 * point-in-time plans the recoverable window of each timeline and the WAL gaps; the drills' restore times against
 * the RTO line; storage and its monthly cost by storage class. {@code savepoint report --html page.html} writes it.
 */
public final class StatusPage {
  private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss 'UTC'", Locale.ROOT)
      .withZone(ZoneOffset.UTC);
  /** The wide layout's and the phone layout's chart widths (CSS shows one). */
  private static final int WIDE = 1000;
  private static final int NARROW = 420;

  private static final String STYLE = """
      :root{--fg:#1d1d1f;--muted:#5f6368;--bg:#fff;--panel:#f6f7f9;--line:#c9ccd1;--mark:#2f5f98;--base:#6b3fa0;
        --bad:#b00020;--ok:#1b7f3b;--band:#cfe3d4;--hatch:#b00020}
      @media (prefers-color-scheme:dark){:root{--fg:#e8eaed;--muted:#a0a4a8;--bg:#16181b;--panel:#202327;
        --line:#44484e;--mark:#7fb0e8;--base:#c19ae8;--bad:#ff7a8a;--ok:#6fd08c;--band:#24452f;--hatch:#ff7a8a}}
      *{box-sizing:border-box}
      body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;padding:16px;max-width:1080px;color:var(--fg);
        background:var(--bg)}
      h1{font-size:1.5em;margin:.2em 0}h2{font-size:1.2em;margin:1.4em 0 .4em}
      code{font:13px ui-monospace,monospace;background:var(--panel);padding:1px 4px;border-radius:3px;
        overflow-wrap:anywhere}
      .muted{color:var(--muted)}.bad{color:var(--bad);font-weight:600}.ok{color:var(--ok)}
      .scroll{overflow-x:auto}
      table{border-collapse:collapse;margin:6px 0 14px;min-width:100%}
      td,th{border-bottom:1px solid var(--line);padding:4px 8px;text-align:left;white-space:nowrap}
      td.num,th.num{text-align:right}
      #costs{font-size:13px}#costs th{white-space:normal}#costs td,#costs th{padding:4px 5px}
      #attention ol{padding-left:1.4em}#attention li{margin:.5em 0}
      #attention .fix{display:block;margin-top:2px}
      svg{display:block;width:100%;height:auto;background:var(--panel);border-radius:6px;margin:6px 0}
      svg text{fill:var(--fg);font:12px system-ui,sans-serif}
      svg .axis line,svg .axis path{stroke:var(--line)}
      svg .tick text{fill:var(--muted)}
      svg .backup{fill:var(--mark)}svg .backup.base{fill:var(--base)}
      svg .gap{fill:url(#hatch);stroke:var(--hatch);stroke-width:1}
      svg .gap-label,svg .wal-gap-label,svg .failed-label{fill:var(--bad);font-weight:600}
      svg .age{fill:none;stroke:var(--mark);stroke-width:1.5}
      svg .rpo-line,svg .rto-line{stroke:var(--bad);stroke-width:1.5;stroke-dasharray:6 4}
      svg .window-band{fill:var(--band);stroke:var(--ok)}
      svg .wal-gap{fill:url(#hatch);stroke:var(--hatch)}
      svg .drill{fill:var(--ok)}svg .drill.failed{fill:url(#hatch);stroke:var(--hatch)}
      svg .storage{fill:none;stroke:var(--mark);stroke-width:2}
      .narrow{display:none}
      @media (max-width:640px){body{padding:10px;font-size:14px}.wide{display:none}.narrow{display:block}
        td,th{padding:3px 5px}}
      @media print{body{max-width:none}.plan{break-inside:avoid}svg{background:none;border:1px solid #999}}
      """;

  private StatusPage() {}

  /** The page of {@code report}. */
  public static String render(StatusReport report) {
    Svg h = new Svg();
    h.raw("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        + "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
        + "<meta name=\"color-scheme\" content=\"light dark\"><title>Savepoint status</title><style>")
        .raw(STYLE).raw("</style></head><body>\n");
    // The hatch pattern every warning is drawn with: visible without colour and in print.
    h.raw("<svg width=\"0\" height=\"0\" style=\"position:absolute\" aria-hidden=\"true\"><defs><pattern id=\"hatch\" "
        + "width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\"><rect width=\"6\" "
        + "height=\"6\" fill=\"none\"/><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"currentColor\" "
        + "stroke-width=\"3\" style=\"stroke:var(--hatch)\"/></pattern></defs></svg>\n");
    h.element("h1", "Savepoint status");
    h.open("p", "class", "muted").escaped("Repository ").element("code", report.repository())
        .escaped(" at " + TIME.format(report.now()) + " · RTO target " + human(report.rto())).close("p").raw("\n");
    attention(h, report.attention());
    summary(h, report);
    for (PlanStatus p : report.plans()) {
      plan(h, p, report);
    }
    storage(h, report);
    return h.raw("</body></html>\n").toString();
  }

  private static void attention(Svg h, List<Attention> items) {
    h.open("section", "id", "attention");
    if (items.isEmpty()) {
      h.element("h2", "Nothing needs attention", "class", "ok");
    } else {
      h.element("h2", "Needs attention (" + items.size() + ")", "class", "bad").open("ol");
      for (Attention a : items) {
        h.open("li", "class", "attention", "data-plan", a.plan() == null ? "" : a.plan())
            .element("span", "⚠ " + a.text(), "class", "what").element("code", a.command(), "class", "fix")
            .close("li");
      }
      h.close("ol");
    }
    h.close("section").raw("\n");
  }

  private static void summary(Svg h, StatusReport report) {
    h.open("div", "class", "scroll").open("table", "id", "summary").open("tr");
    for (String th : List.of("plan", "backups", "newest", "age", "stored", "newest drill", "est. cost / month")) {
      h.element("th", th);
    }
    h.close("tr");
    for (PlanStatus p : report.plans()) {
      Instant newest = p.newest().map(Backup::startedAt).orElse(null);
      Duration age = newest == null ? null : Duration.between(newest, report.now());
      boolean late = age == null || age.compareTo(p.rpo()) > 0;
      h.open("tr", "data-plan", p.plan()).open("td").open("a", "href", "#plan-" + p.plan()).escaped(p.plan())
          .close("a").close("td").element("td", String.valueOf(p.backups().size()), "class", "num")
          .element("td", newest == null ? "none" : local(newest, p.zone()) + " " + zoneName(newest, p.zone()))
          .element("td", age == null ? "—" : human(age) + (late ? " ⚠ over RPO " + human(p.rpo()) : ""),
              "class", late ? "bad" : "ok")
          .element("td", bytes(p.storedBytes()), "class", "num")
          .element("td", p.newestDrill().map(d -> (d.passed() ? "✓ passed " : "✗ FAILED ") + local(d.at(), p.zone()))
              .orElse("never"), "class", p.newestDrill().map(d -> d.passed() ? "ok" : "bad").orElse("muted"))
          .element("td", p.cost().priced() ? money(p.cost().perMonth(), report.currency()) : "—", "class", "num")
          .close("tr");
    }
    h.close("table").close("div").raw("\n");
  }

  private static void plan(Svg h, PlanStatus p, StatusReport report) {
    h.open("section", "class", "plan", "id", "plan-" + p.plan(), "data-plan", p.plan());
    h.element("h2", p.plan());
    h.open("p", "class", "plan-header").escaped(count(p.backups().size(), "backup") + " · RPO " + human(p.rpo())
        + " · times in "
        + p.zone() + " · newest drill: ");
    p.newestDrill().ifPresentOrElse(d -> h.element("span", (d.passed() ? "✓ passed" : "✗ FAILED: " + d.detail())
        + " (" + local(d.at(), p.zone()) + ", restore " + human(d.restoreTime()) + ")", "class",
        d.passed() ? "ok newest-drill" : "bad newest-drill"), () -> h.element("span", "none", "class", "newest-drill"));
    h.close("p");
    if (p.windowError() != null) {
      h.element("p", "No recoverable window: " + p.windowError(), "class", "bad");
    }
    if (p.backups().isEmpty()) {
      h.element("p", "No complete backup.", "class", "bad").close("section").raw("\n");
      return;
    }
    for (int width : new int[] {WIDE, NARROW}) {
      timeline(h, p, report.now(), width);
    }
    h.open("p", "class", "muted").escaped("Marks: backups, sized by stored bytes"
        + (p.pointInTime() ? " (squares: base backups; green bands: recoverable windows per timeline)" : "")
        + ". Hatched and labelled with their length: " + (p.gaps().size() == 1 ? "1 stretch" : p.gaps().size() + " stretches")
        + " longer than the RPO without a backup"
        + (p.walGaps().isEmpty() ? "" : ", and WAL gaps") + ". Lower lane: age of the newest backup against the RPO.")
        .close("p");
    if (!p.drills().isEmpty()) {
      for (int width : new int[] {WIDE, NARROW}) {
        drills(h, p, report.rto(), width);
      }
      drillTable(h, p, report.rto());
    }
    h.close("section").raw("\n");
  }

  private static void timeline(Svg h, PlanStatus p, Instant now, int width) {
    boolean narrow = width == NARROW;
    double left = 8;
    double plot = width - 2 * left;
    Instant from = p.backups().get(0).startedAt();
    for (Window w : p.windows()) {
      from = w.from().isBefore(from) ? w.from() : from;
    }
    TimeAxis axis = new TimeAxis(from, now, p.zone(), left, plot);
    int bands = p.windows().size() + (p.walGaps().isEmpty() ? 0 : 1);
    double marksY = 40 + 16 * bands;
    double ageTop = marksY + 34;
    double ageHeight = 60;
    double axisY = ageTop + ageHeight + 6;
    double height = axisY + 26;
    h.open("svg", "class", (narrow ? "narrow" : "wide") + " timeline", "viewBox", "0 0 " + width + " "
        + Svg.number(height), "role", "img", "aria-label", "timeline of plan " + p.plan());
    h.title(p.backups().size() + " backups of " + p.plan() + "; " + p.gaps().size() + " stretch(es) longer than the RPO "
        + human(p.rpo()) + " without a backup");
    // Recoverable windows, one band per timeline, and where the WAL has a gap.
    for (int i = 0; i < p.windows().size(); i++) {
      Window w = p.windows().get(i);
      double y = 6 + 16 * i;
      double x1 = axis.x(w.from());
      double x2 = Math.max(x1 + 2, axis.x(w.to()));
      h.open("rect", "class", "window-band", "data-timeline", w.timeline(), "x", x1, "y", y, "width", x2 - x1,
          "height", 12.0).title("timeline " + w.timeline() + ": recoverable from " + TIME.format(w.from()) + " to "
          + TIME.format(w.to())).close("rect");
      h.text("band-label", Math.min(x1 + 4, width - 120.0), y + 10, "timeline " + w.timeline() + " recoverable");
    }
    if (!p.walGaps().isEmpty()) {
      // Where the newest timeline's recoverable window ends, the WAL stops: from there to now, on a lane of its own.
      Instant until = p.windows().isEmpty() ? from : p.windows().get(p.windows().size() - 1).to();
      double x1 = axis.x(until);
      double y = 6 + 16 * (bands - 1);
      h.open("rect", "class", "wal-gap", "x", x1, "y", y, "width", Math.max(3, axis.x(now) - x1), "height", 12.0)
          .title("WAL gap: " + String.join(", ", p.walGaps())).close("rect");
      String label = "WAL gap: " + p.walGaps().get(0);
      h.text("wal-gap-label", Math.max(left, Math.min(x1 - label.length() * 7.5 - 6, width - label.length() * 7.5)),
          y + 10, label);
    }
    // Stretches without a backup longer than the RPO: hatched across both lanes, each labelled with its length (on
    // a second row where the first is taken; the tooltip says it in full).
    double[] rowEnds = {Double.NEGATIVE_INFINITY, Double.NEGATIVE_INFINITY};
    for (Gap g : p.gaps()) {
      double x1 = axis.x(g.from());
      double x2 = Math.max(x1 + 2, axis.x(g.to()));
      h.open("rect", "class", "gap", "x", x1, "y", marksY - 12, "width", x2 - x1, "height", ageTop + ageHeight
          - marksY + 12).title("no backup for " + human(g.length()) + ": " + TIME.format(g.from()) + " to "
          + TIME.format(g.to())).close("rect");
      String label = human(g.length());
      double labelWidth = label.length() * 7;
      double labelX = Math.max(left, Math.min((x1 + x2 - labelWidth) / 2, width - labelWidth));
      int row = labelX > rowEnds[0] + 4 ? 0 : 1;
      rowEnds[row] = labelX + labelWidth;
      h.text("gap-label", labelX, marksY - 16 - 13 * row, label);
    }
    // Backups: a mark per backup sized by the bytes it stored — a dot whose area says it where they are sparse, a bar
    // whose height does where dots would overlap.
    long max = Math.max(1, p.backups().stream().mapToLong(Backup::storedBytes).max().orElse(1));
    boolean dense = plot / p.backups().size() < 14;
    for (Backup b : p.backups()) {
      double share = b.storedBytes() / (double) max;
      double r = 2.5 + 6.5 * Math.sqrt(share);
      double x = axis.x(b.startedAt());
      String title = b.id() + (b.baseBackup() ? " (base backup)" : "") + ": " + bytes(b.storedBytes()) + " stored, "
          + local(b.startedAt(), p.zone()) + " (" + TIME.format(b.startedAt()) + ")";
      String cssClass = b.baseBackup() ? "backup base" : "backup";
      if (dense) {
        double barHeight = 2 + 16 * share;
        h.open("rect", "class", cssClass, "x", x - 0.8, "y", marksY + 9 - barHeight, "width", 1.6, "height",
            barHeight).title(title).close("rect");
      } else if (b.baseBackup()) {
        h.open("rect", "class", cssClass, "x", x - r, "y", marksY - r, "width", 2 * r, "height", 2 * r)
            .title(title).close("rect");
      } else {
        h.open("circle", "class", cssClass, "cx", x, "cy", marksY, "r", r).title(title).close("circle");
      }
    }
    // The age of the newest backup at each moment (a saw tooth) against the RPO line: above it, the RPO is breached.
    long maxAge = Math.max(p.rpo().toMillis(), 1);
    Instant previous = p.backups().get(0).startedAt();
    for (Backup b : p.backups()) {
      maxAge = Math.max(maxAge, Duration.between(previous, b.startedAt()).toMillis());
      previous = b.startedAt();
    }
    maxAge = Math.max(maxAge, Duration.between(previous, now).toMillis());
    double scale = ageHeight / (maxAge * 1.15);
    double base = ageTop + ageHeight;
    StringBuilder d = new StringBuilder();
    previous = null;
    for (Backup b : p.backups()) {
      if (previous != null) {
        d.append(" L").append(Svg.number(axis.x(b.startedAt()))).append(',')
            .append(Svg.number(base - Duration.between(previous, b.startedAt()).toMillis() * scale));
      }
      d.append(previous == null ? "M" : " L").append(Svg.number(axis.x(b.startedAt()))).append(',')
          .append(Svg.number(base));
      previous = b.startedAt();
    }
    d.append(" L").append(Svg.number(axis.x(now))).append(',')
        .append(Svg.number(base - Duration.between(previous, now).toMillis() * scale));
    h.open("path", "class", "age", "d", d.toString()).title("age of the newest backup").close("path");
    double rpoY = base - p.rpo().toMillis() * scale;
    h.empty("line", "class", "rpo-line", "x1", left, "x2", left + plot, "y1", rpoY, "y2", rpoY);
    h.text("rpo-label", left + plot - 80, rpoY - 4, "RPO " + human(p.rpo()));
    // The axis: local times, UTC in each tick's tooltip.
    h.open("g", "class", "axis").empty("line", "x1", left, "x2", left + plot, "y1", axisY, "y2", axisY);
    List<TimeAxis.Tick> ticks = axis.ticks(narrow ? 4 : 9);
    for (TimeAxis.Tick t : ticks) {
      double labelX = Math.max(left, Math.min(t.x() - 30, width - 80.0));
      h.open("g", "class", "tick").empty("line", "x1", t.x(), "x2", t.x(), "y1", axisY, "y2", axisY + 5)
          .text("tick-label", labelX, axisY + 18, t.label()).title(t.utc()).close("g");
    }
    h.close("g").close("svg").raw("\n");
  }

  private static void drills(Svg h, PlanStatus p, Duration rto, int width) {
    List<Drill> drills = p.drills().size() > (width == NARROW ? 12 : 40)
        ? p.drills().subList(p.drills().size() - (width == NARROW ? 12 : 40), p.drills().size()) : p.drills();
    double height = 120;
    double top = 18;
    double plot = height - top - 22;
    long max = Math.max(rto.toMillis(), drills.stream().mapToLong(d -> d.restoreTime().toMillis()).max().orElse(1));
    double scale = plot / (max * 1.15);
    double slot = (width - 20.0) / Math.max(drills.size(), 1);
    h.open("svg", "class", (width == NARROW ? "narrow" : "wide") + " drills", "viewBox", "0 0 " + width + " "
        + Svg.number(height), "role", "img", "aria-label", "restore drills of plan " + p.plan());
    h.title(drills.size() + " restore drills of " + p.plan() + " against the RTO " + human(rto));
    for (int i = 0; i < drills.size(); i++) {
      Drill d = drills.get(i);
      double barHeight = Math.max(2, d.restoreTime().toMillis() * scale);
      double x = 10 + i * slot + slot * 0.15;
      h.open("rect", "class", d.passed() ? "drill" : "drill failed", "x", x, "y", top + plot - barHeight, "width",
          Math.max(2, slot * 0.7), "height", barHeight).title(local(d.at(), p.zone()) + ": restore "
          + human(d.restoreTime()) + (d.passed() ? ", passed" : ", FAILED: " + d.detail())).close("rect");
      if (!d.passed()) {
        h.text("failed-label", x, top + plot - barHeight - 4, "✗");
      }
    }
    double rtoY = top + plot - rto.toMillis() * scale;
    h.empty("line", "class", "rto-line", "x1", 10.0, "x2", width - 10.0, "y1", rtoY, "y2", rtoY);
    h.text("rto-label", width - 110.0, rtoY - 4, "RTO " + human(rto));
    h.text("drills-caption", 10, height - 6, "restore time per drill, oldest to newest ("
        + drills.size() + (drills.size() < p.drills().size() ? " newest of " + p.drills().size() : "") + ")");
    h.close("svg").raw("\n");
  }

  private static void drillTable(Svg h, PlanStatus p, Duration rto) {
    h.open("div", "class", "scroll").open("table", "class", "drills").open("tr");
    for (String th : List.of("drill", "backup", "restore time", "RTO target", "result")) {
      h.element("th", th);
    }
    h.close("tr");
    for (Drill d : p.drills()) {
      h.open("tr").element("td", local(d.at(), p.zone())).element("td", d.backupId())
          .element("td", human(d.restoreTime()), "class", d.restoreTime().compareTo(rto) > 0 ? "bad" : "ok")
          .element("td", human(rto))
          .element("td", d.passed() ? "✓ passed, " + d.rowsChecked() + " rows checked" : "✗ FAILED: " + d.detail(),
              "class", d.passed() ? "ok" : "bad")
          .close("tr");
    }
    h.close("table").close("div");
  }

  private static void storage(Svg h, StatusReport report) {
    h.open("section", "id", "storage").element("h2", "Storage and cost");
    List<PlanStatus> plans = report.plans().stream().filter(p -> !p.backups().isEmpty()).toList();
    if (!plans.isEmpty()) {
      for (int width : new int[] {WIDE, NARROW}) {
        storageChart(h, plans, report.now(), width);
      }
    }
    h.open("div", "class", "scroll").open("table", "id", "costs").open("tr");
    for (String th : List.of("plan", "class", "stored", "storage/mo", "PUTs/mo", "requests/mo", "total/mo",
        "read back newest", "thaw")) {
      h.element("th", th, "class", th.equals("plan") || th.equals("class") ? "" : "num");
    }
    h.close("tr");
    double total = 0;
    for (PlanStatus p : report.plans()) {
      StatusReport.Cost c = p.cost();
      String currency = report.currency();
      h.open("tr", "data-plan", p.plan()).element("td", p.plan())
          .element("td", c.storageClass() == null ? "local (not priced)" : c.storageClass()
              + (c.priced() ? "" : " (not in the price table)"))
          .element("td", bytes(c.bytes()), "class", "num", "data-bytes", c.bytes())
          .element("td", money(c.storagePerMonth(), currency), "class", "num storage-cost")
          .element("td", String.valueOf(c.putsPerMonth()), "class", "num", "data-puts", c.putsPerMonth())
          .element("td", money(c.requestsPerMonth(), currency), "class", "num request-cost")
          .element("td", money(c.perMonth(), currency), "class", "num total-cost")
          .element("td", money(c.retrievalPerRestore(), currency), "class", "num retrieval-cost")
          .element("td", c.thawHours() == 0 ? "readable at once" : String.format(Locale.ROOT, "%.4g h", c.thawHours())
              .replaceFirst("\\.?0+ h$", " h"),
              "class", c.thawHours() * 3600 > report.rto().toSeconds() ? "num bad" : "num")
          .close("tr");
      total += c.perMonth();
    }
    h.open("tr").element("th", "all plans").element("th", "").element("th", "").element("th", "").element("th", "")
        .element("th", "").element("th", money(total, report.currency()), "class", "num", "id", "cost-total")
        .element("th", "").element("th", "").close("tr");
    h.close("table").close("div");
    h.element("p", "Monthly: storage per GiB-month and PUT requests at the pace of the last 30 days, from the price table "
        + "(report --prices FILE overrides it; docs/operations.md lists the defaults). Bytes count what each backup "
        + "stored itself and the archived WAL; a lifecycle rule that moves objects to another class later is not "
        + "seen: name the class per plan in the price file.", "class", "muted");
    h.close("section").raw("\n");
  }

  /** Per plan, the bytes held over time: the running sum of its kept backups' own bytes by when they were written. */
  private static void storageChart(Svg h, List<PlanStatus> plans, Instant now, int width) {
    Instant from = plans.stream().map(p -> p.backups().get(0).startedAt()).min(Instant::compareTo).orElse(now);
    double left = 8;
    double height = 130;
    double plot = height - 40;
    TimeAxis axis = new TimeAxis(from, now, plans.get(0).zone(), left, width - 2 * left - 90);
    long max = Math.max(1, plans.stream().mapToLong(p -> p.backups().stream().mapToLong(Backup::ownBytes).sum())
        .max().orElse(1));
    h.open("svg", "class", (width == NARROW ? "narrow" : "wide") + " storage-chart", "viewBox", "0 0 " + width + " "
        + Svg.number(height), "role", "img", "aria-label", "bytes held per plan over time");
    h.title("bytes held per plan over time");
    for (PlanStatus p : plans) {
      StringBuilder d = new StringBuilder();
      long sum = 0;
      double y = 10 + plot;
      for (Backup b : p.backups()) {
        double x = axis.x(b.startedAt());
        d.append(d.length() == 0 ? "M" : " L").append(Svg.number(x)).append(',').append(Svg.number(y));
        sum += b.ownBytes();
        y = 10 + plot - plot * sum / (double) max;
        d.append(" L").append(Svg.number(x)).append(',').append(Svg.number(y));
      }
      d.append(" L").append(Svg.number(axis.x(now))).append(',').append(Svg.number(y));
      h.open("path", "class", "storage", "data-plan", p.plan(), "d", d.toString())
          .title(p.plan() + ": " + bytes(sum) + (p.cost().storageClass() == null ? "" : " in "
              + p.cost().storageClass())).close("path");
      h.text("storage-label", axis.x(now) + 4, y + 4, p.plan());
    }
    h.open("g", "class", "axis").empty("line", "x1", left, "x2", axis.x(now), "y1", 10 + plot, "y2", 10 + plot);
    for (TimeAxis.Tick t : axis.ticks(width == NARROW ? 3 : 8)) {
      h.open("g", "class", "tick").empty("line", "x1", t.x(), "x2", t.x(), "y1", 10 + plot, "y2", 15 + plot)
          .text("tick-label", Math.max(left, t.x() - 30), 28 + plot, t.label()).title(t.utc()).close("g");
    }
    h.close("g").close("svg").raw("\n");
  }

  /** The zone's short name at {@code t} ({@code CET}, {@code JST}, {@code UTC}). */
  private static String zoneName(Instant t, ZoneId zone) {
    return DateTimeFormatter.ofPattern("zzz", Locale.ROOT).withZone(zone).format(t);
  }

  private static String local(Instant t, ZoneId zone) {
    return DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm", Locale.ROOT).withZone(zone).format(t);
  }

  static String money(double amount, String currency) {
    return String.format(Locale.ROOT, amount < 10 ? "%.4f %s" : "%.2f %s", amount, currency);
  }

  /** {@code 4.2 s}, {@code 95 s}, {@code 50 min}, {@code 3 h 50 min}, {@code 2 d 4 h}: to the minute below two days. */
  static String human(Duration d) {
    long s = d.toSeconds();
    if (s < 120) {
      return d.toMillis() < 10_000 ? String.format(Locale.ROOT, "%.1f s", d.toMillis() / 1000.0) : s + " s";
    }
    if (s < 7200) {
      return s / 60 + " min";
    }
    if (s < 172_800) {
      return s / 3600 + " h" + (s % 3600 / 60 == 0 ? "" : " " + s % 3600 / 60 + " min");
    }
    return s / 86_400 + " d" + (s % 86_400 / 3600 == 0 ? "" : " " + s % 86_400 / 3600 + " h");
  }

  private static String count(int n, String noun) {
    return n + " " + noun + (n == 1 ? "" : "s");
  }

  static String bytes(long n) {
    return n < 1024 ? n + " B" : n < 1 << 20 ? String.format(Locale.ROOT, "%.1f KiB", n / 1024.0)
        : n < 1L << 30 ? String.format(Locale.ROOT, "%.1f MiB", n / 1048576.0)
        : String.format(Locale.ROOT, "%.2f GiB", n / 1073741824.0);
  }
}
