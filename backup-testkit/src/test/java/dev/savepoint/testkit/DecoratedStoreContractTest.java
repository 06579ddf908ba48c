package dev.savepoint.testkit;

import dev.savepoint.core.store.InMemoryStore;
import dev.savepoint.core.store.Store;
import dev.savepoint.core.store.Stores;

/** The standard decorator stack must not change store behaviour. */
class DecoratedStoreContractTest extends StoreContract {
  @Override
  protected Store newStore() {
    return Stores.standard(new InMemoryStore());
  }
}
