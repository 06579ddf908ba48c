package dev.savepoint.testkit;

import dev.savepoint.core.store.InMemoryStore;
import dev.savepoint.core.store.Store;

class InMemoryStoreContractTest extends StoreContract {
  @Override
  protected Store newStore() {
    return new InMemoryStore();
  }
}
