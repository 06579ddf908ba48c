package dev.savepoint.testkit;

import dev.savepoint.core.InMemoryStore;
import dev.savepoint.core.Store;
import dev.savepoint.core.Stores;

/** The standard decorator stack must not change store behaviour. */
class DecoratedStoreContractTest extends StoreContract {
  @Override
  protected Store newStore() {
    return Stores.standard(new InMemoryStore());
  }
}
