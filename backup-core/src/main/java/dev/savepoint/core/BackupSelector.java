package dev.savepoint.core;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/** Chooses one backup from a plan's complete backups (sorted oldest first). */
public interface BackupSelector {
  Optional<Manifest> select(List<Manifest> backups);

  String describe();

  static BackupSelector latest() {
    return new BackupSelector() {
      @Override
      public Optional<Manifest> select(List<Manifest> backups) {
        return backups.isEmpty() ? Optional.empty() : Optional.of(backups.get(backups.size() - 1));
      }

      @Override
      public String describe() {
        return "latest";
      }
    };
  }

  static BackupSelector id(String id) {
    return new BackupSelector() {
      @Override
      public Optional<Manifest> select(List<Manifest> backups) {
        return backups.stream().filter(m -> m.id().equals(id)).findFirst();
      }

      @Override
      public String describe() {
        return "id " + id;
      }
    };
  }

  /** The newest backup that started at or before {@code time} (its data is as of its start). */
  static BackupSelector atOrBefore(Instant time) {
    return new BackupSelector() {
      @Override
      public Optional<Manifest> select(List<Manifest> backups) {
        Manifest best = null;
        for (Manifest m : backups) {
          if (!m.startedAt().isAfter(time)) {
            best = m;
          }
        }
        return Optional.ofNullable(best);
      }

      @Override
      public String describe() {
        return "at or before " + time;
      }
    };
  }

  /** {@code latest}, or a backup id. */
  static BackupSelector parse(String text) {
    return text == null || text.equals("latest") ? latest() : id(text);
  }
}
