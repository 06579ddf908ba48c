package dev.savepoint.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.savepoint.core.BackupPlan;
import dev.savepoint.core.FakeBackups;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.Repository;
import dev.savepoint.core.Transforms;
import dev.savepoint.core.Verifiers;
import dev.savepoint.core.store.FilesystemStore;
import dev.savepoint.postgres.PostgresUrl;
import dev.savepoint.postgres.RestoreDrill;
import dev.savepoint.postgres.pitr.BaseBackupSource;
import dev.savepoint.postgres.pitr.WalArchive;
import dev.savepoint.postgres.pitr.WalSegment;
import dev.savepoint.postgres.pitr.WalStreamer;
import dev.savepoint.testkit.TestPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.jsoup.Jsoup;
import org.jsoup.nodes.Document;
import org.jsoup.nodes.Element;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 42: the status page as a person sees it — rendered by headless Chromium at a desktop and a phone width — for a
 * repository with a week of hourly backups with an outage, a failed drill, a point-in-time plan whose WAL has a gap,
 * and a plan priced as DEEP_ARCHIVE. Checked from the rendered DOM: the attention list is exactly {@code report
 * --json}'s, every stretch longer than the RPO is drawn and labelled, the axes carry labels, the RPO and RTO lines and
 * the failed drill are there, the cost table is the price file's arithmetic, and nothing overflows a phone's width.
 */
class StatusPageBrowserTest {
  private static final long MIB = 1 << 20;

  @TempDir
  Path tmp;

  @Test
  void aWeekOfBackupsReadsAtDesktopAndPhoneWidth() throws Exception {
    Files.setPosixFilePermissions(tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx"));
    Path repoDir = tmp.resolve("repo");
    Repository repo = new Repository(new FilesystemStore(repoDir));
    Instant now = Instant.now();
    // hourly: a week and two hours of hourly backups, the newest 30 min old, sizes growing, with an outage three
    // days ago. (Nothing lies within minutes of an RPO boundary: the report's clock runs a little later than this.)
    List<Instant> hourly = new ArrayList<>();
    Instant first = now.minus(Duration.ofDays(7)).minus(Duration.ofMinutes(90));
    for (Instant t = first; t.isBefore(now.minus(Duration.ofMinutes(20))); t = t.plus(Duration.ofHours(1))) {
      Duration ago = Duration.between(t, now);
      if (ago.compareTo(Duration.ofHours(79)) < 0 && ago.compareTo(Duration.ofHours(72)) > 0) {
        continue;
      }
      hourly.add(t);
    }
    List<Manifest> hourlyBackups = new ArrayList<>();
    for (int i = 0; i < hourly.size(); i++) {
      hourlyBackups.add(FakeBackups.write(repo, "hourly", "postgresql", hourly.get(i), Duration.ofSeconds(40),
          (20 + i / 10) * MIB));
    }
    // Drills: three passed, the newest failed.
    for (int i = 0; i < 4; i++) {
      Manifest m = hourlyBackups.get(hourlyBackups.size() - 1 - 30 * (3 - i));
      RestoreDrill.record(repo, m, new RestoreDrill.Report("hourly", m.id(), m.finishedAt().plusSeconds(60),
          (60 + 50L * i) * 1000, 12, 4000, i < 3, i < 3 ? "" : "row counts differ in chat_messages"));
    }
    // archive: daily, priced as DEEP_ARCHIVE by the price file.
    List<Instant> daily = new ArrayList<>();
    for (int d = 7; d >= 1; d--) {
      daily.add(now.minus(Duration.ofDays(d)).plus(Duration.ofHours(3)));
      FakeBackups.write(repo, "archive", "directory", daily.get(daily.size() - 1), Duration.ofMinutes(3), 300 * MIB);
    }
    String lostSegment = pointInTimePlanWithAGap(repo);

    Path prices = Files.writeString(tmp.resolve("prices.json"), """
        {"currency": "EUR",
         "classes": {"TESTCLASS": {"storageGbMonth": 0.5, "putPer1000": 2, "retrievalGb": 0, "thawHours": 0}},
         "plans": {"hourly": "TESTCLASS", "archive": "DEEP_ARCHIVE", "cluster": "TESTCLASS"}}
        """);
    Path page = tmp.resolve("status.html");
    CliProcess.Result report = CliProcess.run("report", "--insecure-unsigned", "--repo", "file:" + repoDir,
        "--max-age", "PT1H", "--rto", "PT4H", "--max-wal-age", "PT1H", "--prices", prices.toString(), "--zone",
        "Europe/Berlin", "--json", "--html", page.toString());
    assertThat(report.exit()).as(report.err()).isEqualTo(Main.INTEGRITY);
    JsonNode json = new ObjectMapper().readTree(report.out());
    List<String> overdue = new ArrayList<>();
    json.get("overdue").forEach(o -> overdue.add(o.asText()));
    assertThat(overdue).as("the fixture's problems").anyMatch(o -> o.startsWith("hourly: the newest restore drill"))
        .anyMatch(o -> o.startsWith("archive: DEEP_ARCHIVE standard thaw 12 h > RTO PT4H"))
        .anyMatch(o -> o.startsWith("cluster: WAL of plan 'cluster' has a gap (" + lostSegment));

    for (int[] size : new int[][] {{1280, 2400}, {390, 844}}) {
      boolean phone = size[0] < 640;
      Document dom = render(page, size[0], size[1]);
      String layout = phone ? ".narrow" : ".wide";
      // Attention: exactly the report's list, each with a command.
      List<String> shown = dom.select("#attention li.attention").stream()
          .map(li -> li.selectFirst(".what").text().replaceFirst("^⚠ ", "")).toList();
      assertThat(shown).containsExactlyElementsOf(overdue);
      assertThat(dom.select("#attention li.attention code.fix")).hasSize(overdue.size())
          .allMatch(c -> c.text().startsWith("savepoint ") || c.text().startsWith("keep the newest backup"));
      // Every stretch longer than the RPO: drawn and labelled with its length, in the layout this width shows.
      assertGaps(dom, "hourly", hourly, layout, now);
      assertGaps(dom, "archive", daily, layout, now);
      Element hourlyTimeline = dom.selectFirst("#plan-hourly svg.timeline" + layout);
      assertThat(hourlyTimeline.select(".tick")).as("a labelled time axis").hasSizeGreaterThanOrEqualTo(phone ? 2 : 5)
          .allMatch(t -> !t.selectFirst("text").text().isBlank() && t.selectFirst("title").text().endsWith("UTC"));
      assertThat(hourlyTimeline.select(".backup")).hasSize(hourly.size());
      assertThat(hourlyTimeline.select("line.rpo-line")).hasSize(1);
      assertThat(hourlyTimeline.select(".rpo-label").text()).isEqualTo("RPO 60 min");
      // Drills against the RTO; the failed one marked without relying on colour.
      Element drills = dom.selectFirst("#plan-hourly svg.drills" + layout);
      assertThat(drills.select("rect.drill")).hasSize(4);
      assertThat(drills.select("rect.drill.failed")).hasSize(1);
      assertThat(drills.select(".failed-label").text()).isEqualTo("✗");
      assertThat(drills.select("line.rto-line")).hasSize(1);
      assertThat(dom.selectFirst("#plan-hourly .newest-drill").text()).startsWith("✗ FAILED: row counts differ");
      // The point-in-time plan: a recoverable window band, base backups as marks, the WAL gap named.
      Element cluster = dom.selectFirst("#plan-cluster svg.timeline" + layout);
      assertThat(cluster.select("rect.window-band")).isNotEmpty();
      assertThat(cluster.select("rect.backup.base")).isNotEmpty();
      assertThat(cluster.select(".wal-gap-label").text()).contains("WAL gap: " + lostSegment);
      // Phone width: nothing wider than the screen, the phone layout shown.
      assertThat(dom.body().attr("data-overflow")).as("horizontal overflow at %d px", size[0]).isEqualTo("false");
      assertThat(dom.body().attr("data-shown")).isEqualTo(phone ? "narrow" : "wide");
    }

    // The cost table is the price file's arithmetic.
    Document dom = Jsoup.parse(Files.readString(page));
    long hourlyBytes = 0;
    long puts = 0;
    for (Manifest m : hourlyBackups) {
      hourlyBytes += m.storedBytes();
      puts += 3 + (m.storedBytes() + 8 * MIB - 1) / (8 * MIB);
    }
    double days = Duration.between(hourly.get(0), now).toMinutes() / 1440.0;
    Element row = dom.selectFirst("#costs tr[data-plan=hourly]");
    assertThat(row.selectFirst("[data-bytes]").attr("data-bytes")).isEqualTo(Long.toString(hourlyBytes));
    // Extrapolated to 30 days over the plan's age, which the report measured a moment later: within one request.
    long putsPerMonth = Long.parseLong(row.selectFirst("[data-puts]").attr("data-puts"));
    assertThat((double) putsPerMonth).isCloseTo(puts * 30 / days, org.assertj.core.data.Offset.offset(1.0));
    double storage = hourlyBytes / (double) (1L << 30) * 0.5;
    double requests = putsPerMonth / 1000.0 * 2;
    assertThat(row.selectFirst(".storage-cost").text()).isEqualTo(money(storage));
    assertThat(row.selectFirst(".request-cost").text()).isEqualTo(money(requests));
    assertThat(row.selectFirst(".total-cost").text()).isEqualTo(money(storage + requests));
    Element archive = dom.selectFirst("#costs tr[data-plan=archive]");
    assertThat(archive.child(1).text()).isEqualTo("DEEP_ARCHIVE");
    assertThat(archive.selectFirst(".storage-cost").text()).isEqualTo(money(7 * 300 * MIB / (double) (1L << 30)
        * 0.00099));
    assertThat(archive.child(8).text()).isEqualTo("12 h");
  }

  /** The plan's gaps: drawn (hatched) and labelled with their length, one per stretch longer than the RPO (1 h). */
  private static void assertGaps(Document dom, String plan, List<Instant> starts, String layout, Instant now) {
    List<String> expected = new ArrayList<>();
    for (int i = 0; i < starts.size(); i++) {
      Instant to = i + 1 < starts.size() ? starts.get(i + 1) : now;
      Duration d = Duration.between(starts.get(i), to);
      if (d.compareTo(Duration.ofHours(1)) > 0) {
        expected.add(human(d));
      }
    }
    Element timeline = dom.selectFirst("#plan-" + plan + " svg.timeline" + layout);
    assertThat(timeline.select("rect.gap")).as("gaps of %s", plan).hasSize(expected.size());
    assertThat(timeline.select(".gap-label").eachText()).as("gap labels of %s", plan)
        .containsExactlyElementsOf(expected);
  }

  /** As the page writes a length: to the minute below two days. */
  private static String human(Duration d) {
    long s = d.toSeconds();
    return s < 7200 ? s / 60 + " min" : s < 172_800 ? s / 3600 + " h" + (s % 3600 / 60 == 0 ? "" : " " + s % 3600 / 60
        + " min") : s / 86_400 + " d" + (s % 86_400 / 3600 == 0 ? "" : " " + s % 86_400 / 3600 + " h");
  }

  private static String money(double amount) {
    return String.format(Locale.ROOT, amount < 10 ? "%.4f %s" : "%.2f %s", amount, "EUR");
  }

  /**
   * The page as Chromium laid it out at {@code width}×{@code height}: a script added to a copy records whether anything
   * overflows the width and which layout CSS shows; a screenshot goes to {@code target/}.
   */
  private Document render(Path page, int width, int height) throws Exception {
    Path probe = tmp.resolve("probe-" + width + ".html");
    Files.writeString(probe, Files.readString(page).replace("</body>", """
        <script>
        document.body.setAttribute('data-overflow', String(document.documentElement.scrollWidth > window.innerWidth));
        document.body.setAttribute('data-shown',
            getComputedStyle(document.querySelector('svg.narrow')).display === 'none' ? 'wide' : 'narrow');
        </script></body>"""));
    Path shots = Files.createDirectories(Path.of("target"));
    CliPostgresTest.chromium("--screenshot=" + shots.toAbsolutePath().resolve("status-page-" + width + ".png"),
        "--window-size=" + width + "," + height, "--hide-scrollbars", page.toUri().toString());
    return Jsoup.parse(CliPostgresTest.chromium("--window-size=" + width + "," + height, "--dump-dom",
        probe.toUri().toString()));
  }

  /**
   * A physical plan on a throwaway server: WAL streamed, a base backup, more WAL; then the record of a segment after
   * the base backup is deleted — a gap. Returns that segment's name.
   */
  private String pointInTimePlanWithAGap(Repository repo) throws Exception {
    try (TestPostgres server = TestPostgres.dedicated()) {
      PostgresUrl url = PostgresUrl.parse(server.url("postgres"));
      String slot = "savepoint_page_" + Long.toHexString(System.nanoTime());
      WalStreamer streamer = new WalStreamer(url, new WalArchive(repo, "cluster", List.of(Transforms.zstd())), slot,
          Duration.ofMillis(200));
      Thread streaming = new Thread(streamer, "test-wal-streamer");
      streaming.start();
      Manifest base;
      try (Connection c = server.connect("postgres"); Statement s = c.createStatement()) {
        assertThat(streamer.awaitStreaming(Duration.ofSeconds(60))).isNotNull();
        base = BackupPlan.builder("cluster").source(new BaseBackupSource(url)).transform(Transforms.zstd())
            .repository(repo).verifier(Verifiers.presence(1)).build().run().manifest();
        for (int i = 0; i < 2; i++) {
          s.execute("CREATE TABLE t" + i + " AS SELECT g FROM generate_series(1, 1000) g");
          s.execute("SELECT pg_switch_wal()");
        }
        long target = WalSegment.parseLsn(TestPostgres.single(c, "SELECT pg_current_wal_lsn()::text"));
        Instant deadline = Instant.now().plusSeconds(60);
        while (streamer.durableLsn() < target && Instant.now().isBefore(deadline)) {
          Thread.sleep(50);
        }
      } finally {
        streamer.close();
        streaming.join(30_000);
      }
      try (Connection c = server.connect("postgres"); Statement s = c.createStatement()) {
        s.execute("SELECT pg_drop_replication_slot('" + slot + "')");
      }
      // The segment before the newest complete one: the window runs from the base backup to it, then the gap.
      List<String> complete = new WalArchive(repo, "cluster", List.of()).entries().keySet().stream()
          .filter(n -> n.matches("[0-9A-F]{24}")).toList();
      assertThat(complete).as("segments after the base backup %s", base.id()).hasSizeGreaterThanOrEqualTo(3);
      String lost = complete.get(complete.size() - 2);
      repo.store().delete("cluster/wal/" + lost + ".json");
      return lost;
    }
  }
}
