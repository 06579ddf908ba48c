package dev.savepoint.core.store;

import dev.savepoint.core.ArtifactRecord;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.Repository;
import dev.savepoint.core.SavepointException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Restore planning for backups in archive storage classes: which artifacts need a restore request, what it
 * will typically take, then request and wait (with progress and a timeout) until every artifact is readable.
 */
public final class ArchiveRestore {
  private ArchiveRestore() {}

  /** One artifact's archive state. */
  public record Item(String artifact, String key, String storageClass, ArchiveSupport.Status status) {}

  /** The archive state of every artifact of {@code manifest} (empty if the store has no archive classes). */
  public static List<Item> inspect(Repository repository, Manifest manifest) throws IOException {
    List<Item> items = new ArrayList<>();
    var archive = repository.store().archive();
    if (archive.isEmpty()) {
      return items;
    }
    for (ArtifactRecord a : manifest.artifacts()) {
      ArchiveSupport.State state = archive.get().state(a.key());
      items.add(new Item(a.name(), a.key(), state.storageClass(), state.status()));
    }
    return items;
  }

  /** Typical time until a restored copy is readable, from AWS's published figures. */
  public static String typicalTime(String storageClass, ArchiveSupport.Tier tier) {
    boolean deep = "DEEP_ARCHIVE".equals(storageClass);
    return switch (tier) {
      case EXPEDITED -> deep ? "not offered for DEEP_ARCHIVE" : "1-5 minutes";
      case STANDARD -> deep ? "within 12 hours" : "3-5 hours";
      case BULK -> deep ? "within 48 hours" : "5-12 hours";
    };
  }

  /** What {@link #requestAndWait} would do, in words: the "plan only" answer. */
  public static List<String> plan(List<Item> items, ArchiveSupport.Tier tier) {
    List<String> lines = new ArrayList<>();
    for (Item i : items) {
      lines.add(switch (i.status()) {
        case AVAILABLE -> i.artifact() + ": readable now";
        case RESTORING -> i.artifact() + ": restore already in progress (" + i.storageClass() + ")";
        case ARCHIVED -> i.artifact() + ": request " + tier + " restore from " + i.storageClass() + ", typically "
            + typicalTime(i.storageClass(), tier);
      });
    }
    return lines;
  }

  /**
   * Requests restores of every archived artifact and polls until all are readable. Throws a
   * {@link SavepointException} naming what is still restoring if {@code timeout} passes first.
   */
  public static void requestAndWait(Repository repository, Manifest manifest, ArchiveSupport.Tier tier, int days,
      Duration timeout, Duration pollInterval, Consumer<String> progress) throws IOException {
    ArchiveSupport archive = repository.store().archive().orElse(null);
    if (archive == null) {
      return;
    }
    Instant deadline = Instant.now().plus(timeout);
    Instant start = Instant.now();
    while (true) {
      List<String> pending = new ArrayList<>();
      for (ArtifactRecord a : manifest.artifacts()) {
        ArchiveSupport.State state = archive.state(a.key());
        if (state.status() == ArchiveSupport.Status.ARCHIVED) {
          archive.requestRestore(a.key(), tier, days);
          progress.accept("requested " + tier + " restore of " + a.name() + " (typically "
              + typicalTime(state.storageClass(), tier) + ")");
        }
        if (state.status() != ArchiveSupport.Status.AVAILABLE) {
          pending.add(a.name());
        }
      }
      if (pending.isEmpty()) {
        progress.accept("all " + manifest.artifacts().size() + " artifacts readable after "
            + Duration.between(start, Instant.now()).toSeconds() + " s");
        return;
      }
      if (Instant.now().isAfter(deadline)) {
        throw new SavepointException("archive restore of backup " + manifest.id() + " still in progress after "
            + timeout + " for " + pending + "; run the restore again later (requests are not repeated)");
      }
      progress.accept("waiting for " + pending.size() + " archived artifact(s): " + pending);
      try {
        Thread.sleep(pollInterval.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("interrupted while waiting for archive restore");
      }
    }
  }
}
