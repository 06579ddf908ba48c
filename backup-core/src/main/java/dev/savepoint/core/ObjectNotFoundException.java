package dev.savepoint.core;

/** The requested key does not exist in the store. */
public class ObjectNotFoundException extends StoreException {
  private final String key;

  public ObjectNotFoundException(String key) {
    super("object not found: " + key);
    this.key = key;
  }

  public String key() {
    return key;
  }
}
