package dev.savepoint.core.store;

import dev.savepoint.core.ObjectNotFoundException;
import dev.savepoint.core.internal.Keys;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * A store that keeps objects in heap memory. For tests and small embedded uses: every object is held whole,
 * so it is not for large backups. Thread-safe; a put becomes visible atomically when it completes.
 */
public final class InMemoryStore implements Store {
  private record Entry(byte[] bytes, Instant modified) {}

  private final ConcurrentSkipListMap<String, Entry> objects = new ConcurrentSkipListMap<>(Keys::compareCodePoints);

  @Override
  public void put(String key, InputStream content) throws IOException {
    Keys.requireObjectKey(key);
    byte[] bytes = content.readAllBytes();
    objects.put(key, new Entry(bytes, Instant.now()));
  }

  @Override
  public boolean putIfAbsent(String key, byte[] content) throws IOException {
    return objects.putIfAbsent(Keys.requireObjectKey(key), new Entry(content.clone(), Instant.now())) == null;
  }

  @Override
  public InputStream get(String key, long offset, long length) throws IOException {
    Entry entry = objects.get(Keys.requireObjectKey(key));
    if (entry == null) {
      throw new ObjectNotFoundException(key);
    }
    int start = (int) Math.min(offset, entry.bytes.length);
    int len = length < 0 ? entry.bytes.length - start : (int) Math.min(length, entry.bytes.length - start);
    return new ByteArrayInputStream(entry.bytes, start, len);
  }

  @Override
  public Optional<ObjectInfo> stat(String key) {
    Entry entry = objects.get(Keys.requireObjectKey(key));
    return entry == null ? Optional.empty() : Optional.of(new ObjectInfo(key, entry.bytes.length, entry.modified));
  }

  @Override
  public List<ObjectInfo> list(String prefix) {
    Keys.requireValidPrefix(prefix);
    List<ObjectInfo> result = new ArrayList<>();
    for (Map.Entry<String, Entry> e : objects.tailMap(prefix, true).entrySet()) {
      if (!e.getKey().startsWith(prefix)) {
        break;
      }
      result.add(new ObjectInfo(e.getKey(), e.getValue().bytes.length, e.getValue().modified));
    }
    return result;
  }

  @Override
  public void delete(String key) {
    objects.remove(Keys.requireObjectKey(key));
  }

  @Override
  public String describe() {
    return "memory:";
  }
}
