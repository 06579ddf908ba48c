package dev.savepoint.postgres.pitr;

import static org.assertj.core.api.Assertions.assertThat;

import dev.savepoint.core.IntegrityException;
import dev.savepoint.core.Repository;
import dev.savepoint.core.store.FilesystemStore;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One body per WAL segment name (issue 43.3): two pushes racing (separate processes' archives on one repository)
 * with different bodies — one succeeds, the other fails loudly, and the stored record is the winner's; with the same
 * body both succeed.
 */
class WalOneBodyTest {
  @TempDir
  Path tmp;

  @Test
  void ofTwoConcurrentPushesWithDifferentBodiesExactlyOneSucceeds() throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      for (int round = 0; round < 30; round++) {
        String name = String.format("000000010000000000%06X", round);
        byte[][] bodies = {body(round, 1), body(round, round % 3 == 0 ? 1 : 2)};
        boolean same = round % 3 == 0;
        CyclicBarrier start = new CyclicBarrier(2);
        List<Future<String>> pushes = new ArrayList<>();
        for (int writer = 0; writer < 2; writer++) {
          byte[] body = bodies[writer];
          // Each push with its own repository and archive, as two `wal push` processes have.
          WalArchive archive = new WalArchive(new Repository(new FilesystemStore(tmp)), "cluster", List.of());
          pushes.add(pool.submit(() -> {
            start.await();
            try {
              return archive.store(name, body, body.length).artifact().rawSha256();
            } catch (IntegrityException refused) {
              return "refused";
            }
          }));
        }
        List<String> outcomes = List.of(pushes.get(0).get(), pushes.get(1).get());
        String stored = new WalArchive(new Repository(new FilesystemStore(tmp)), "cluster", List.of()).entry(name)
            .orElseThrow().artifact().rawSha256();
        if (same) {
          assertThat(outcomes).as("round %d, same body", round).containsOnly(stored);
        } else {
          assertThat(outcomes).as("round %d, different bodies", round).containsOnlyOnce("refused").contains(stored);
        }
      }
    } finally {
      pool.shutdownNow();
    }
  }

  private static byte[] body(int round, int variant) {
    byte[] b = new byte[64 * 1024];
    new Random(round * 10L + variant).nextBytes(b);
    return b;
  }
}
