package dev.savepoint.core.internal;

import dev.savepoint.core.store.Store;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Keys deleted as a streamed walk finds them, a thousand to a request (S3 {@code DeleteObjects}' limit): memory holds
 * one batch, however many keys go. {@link #flush} at the end.
 */
public final class BatchedDeletes {
  private static final int SIZE = 1000;

  private final Store store;
  private final List<String> pending = new ArrayList<>(SIZE);

  public BatchedDeletes(Store store) {
    this.store = store;
  }

  public void add(String key) throws IOException {
    pending.add(key);
    if (pending.size() >= SIZE) {
      flush();
    }
  }

  /** Deletes what is pending. */
  public void flush() throws IOException {
    store.deleteAll(pending);
    pending.clear();
  }
}
