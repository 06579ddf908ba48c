package dev.savepoint.testkit;

import dev.savepoint.core.InMemoryStore;
import dev.savepoint.core.Store;

class InMemoryStoreContractTest extends StoreContract {
  @Override
  protected Store newStore() {
    return new InMemoryStore();
  }
}
