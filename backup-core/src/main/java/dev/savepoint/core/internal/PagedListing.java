package dev.savepoint.core.internal;

import dev.savepoint.core.store.ObjectInfo;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * A store's streamed listing over a cloud SDK's lazily paged iterator: opened on first use (opening it already
 * requests the first page), each item turned into an {@link ObjectInfo}, the SDK's errors into the store's
 * {@link IOException}s (thrown as {@link UncheckedIOException} while iterating, as {@code Store.listing} says).
 */
public final class PagedListing<T, E extends RuntimeException> implements Iterable<ObjectInfo> {
  /** Turns one listed item into an {@link ObjectInfo}. */
  public interface Item<T> {
    ObjectInfo info(T item) throws IOException;
  }

  private final Supplier<Iterator<T>> open;
  private final Item<T> item;
  private final Class<E> sdkError;
  private final Function<E, IOException> mapError;

  public PagedListing(Supplier<Iterator<T>> open, Item<T> item, Class<E> sdkError, Function<E, IOException> mapError) {
    this.open = open;
    this.item = item;
    this.sdkError = sdkError;
    this.mapError = mapError;
  }

  @Override
  public Iterator<ObjectInfo> iterator() {
    return new Iterator<>() {
      private Iterator<T> items;

      @Override
      public boolean hasNext() {
        try {
          if (items == null) {
            items = open.get();
          }
          return items.hasNext();
        } catch (RuntimeException e) {
          throw translated(e);
        }
      }

      @Override
      public ObjectInfo next() {
        if (!hasNext()) {
          throw new NoSuchElementException();
        }
        try {
          return item.info(items.next());
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        } catch (RuntimeException e) {
          throw translated(e);
        }
      }
    };
  }

  /** A streamed listing collected into a list, its {@link UncheckedIOException}s thrown as what they carry. */
  public static java.util.List<ObjectInfo> collect(Iterable<ObjectInfo> listing) throws IOException {
    java.util.List<ObjectInfo> result = new java.util.ArrayList<>();
    iterate(() -> listing.forEach(result::add));
    return result;
  }

  /** Work that walks streamed listings. */
  @FunctionalInterface
  public interface Walk {
    void run() throws IOException;
  }

  /** Runs {@code walk}, throwing a listing's error (unchecked while iterating) as the {@link IOException} it carries. */
  public static void iterate(Walk walk) throws IOException {
    try {
      walk.run();
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
  }

  private RuntimeException translated(RuntimeException e) {
    return sdkError.isInstance(e) ? new UncheckedIOException(mapError.apply(sdkError.cast(e))) : e;
  }
}
