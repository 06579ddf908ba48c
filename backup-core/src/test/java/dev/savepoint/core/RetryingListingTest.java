package dev.savepoint.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.savepoint.core.store.ByteSource;
import dev.savepoint.core.store.ForwardingStore;
import dev.savepoint.core.store.InMemoryStore;
import dev.savepoint.core.store.ObjectInfo;
import dev.savepoint.core.store.RetryPolicy;
import dev.savepoint.core.store.RetryingStore;
import dev.savepoint.core.store.Store;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A streamed listing through {@link RetryingStore} that breaks half-way (a page request failing) is listed again
 * and goes on after the last object it returned: every object once, in order.
 */
class RetryingListingTest {
  final InMemoryStore objects = new InMemoryStore();

  /** Listings that break with {@code failure} after {@code after} objects, the first {@code breaks} times. */
  Store breaking(int after, int breaks, IOException failure) {
    AtomicInteger listings = new AtomicInteger();
    return new ForwardingStore(objects) {
      @Override
      public Iterable<ObjectInfo> listing(String prefix) throws IOException {
        boolean breaksNow = listings.incrementAndGet() <= breaks;
        Iterable<ObjectInfo> all = delegate.listing(prefix);
        return () -> new Iterator<>() {
          final Iterator<ObjectInfo> it = all.iterator();
          int returned;

          @Override
          public boolean hasNext() {
            if (breaksNow && returned == after) {
              throw new UncheckedIOException(failure);
            }
            return it.hasNext();
          }

          @Override
          public ObjectInfo next() {
            returned++;
            return it.next();
          }
        };
      }
    };
  }

  static List<String> keys(Iterable<ObjectInfo> listing) {
    List<String> keys = new ArrayList<>();
    listing.forEach(o -> keys.add(o.key()));
    return keys;
  }

  RetryingStore retrying(Store store, int attempts) {
    return new RetryingStore(store, new RetryPolicy(attempts, Duration.ZERO, Duration.ZERO));
  }

  @Test
  void aBrokenListingGoesOnAfterTheLastObjectItReturned() throws Exception {
    for (int i = 0; i < 50; i++) {
      objects.put(String.format("uploads/%03d.png", i), ByteSource.wrap(new byte[] {(byte) i}));
    }
    objects.put("uploads/\uD83D\uDC09.png", ByteSource.wrap(new byte[] {1})); // beyond U+FFFF: last in UTF-8 order
    List<String> expected = keys(objects.list("uploads/"));

    Store twiceBroken = breaking(17, 2, new TransientStoreException("connection reset"));
    assertThat(keys(retrying(twiceBroken, 5).listing("uploads/"))).containsExactlyElementsOf(expected);
  }

  @Test
  void otherFailuresAndTooManyBreaksAreThrown() throws Exception {
    for (int i = 0; i < 10; i++) {
      objects.put("k" + i, ByteSource.wrap(new byte[] {1}));
    }
    Store denied = breaking(3, 1, new StoreException("access denied"));
    assertThatThrownBy(() -> keys(retrying(denied, 5).listing(""))).isInstanceOf(UncheckedIOException.class)
        .hasMessageContaining("access denied");
    Store alwaysBroken = breaking(3, Integer.MAX_VALUE, new TransientStoreException("connection reset"));
    assertThatThrownBy(() -> keys(retrying(alwaysBroken, 3).listing(""))).isInstanceOf(UncheckedIOException.class)
        .hasMessageContaining("connection reset");
  }
}
