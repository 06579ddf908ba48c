package dev.savepoint.core.operations;

import java.time.Instant;
import org.jspecify.annotations.Nullable;

/**
 * What a running WAL streamer tells monitoring ({@link MicrometerMetrics#walStreamer}): read at any moment, from any
 * thread.
 */
public interface WalStreamStatus {
  /** When WAL last became durable in the repository; null before the first flush. */
  @Nullable Instant lastDurableAt();

  /** The newest WAL position durable in the repository (0 before the first flush). */
  long durableLsn();

  /** True while connected to the server and streaming. */
  boolean connected();

  /** How often the stream was lost and retried since the streamer started (server stops, repository errors). */
  long retries();

  /** The timeline streamed now (0 before the first connection). */
  int timeline();
}
