/** A Kronicle API server on the memory store and a free loopback port, for one describe block. */
import { startKronicle, type RunningKronicle } from '../../api/kronicle';
import { MemoryEventStore } from '../../core/store/memory';

export interface ServerUnderTest {
  readonly store: MemoryEventStore;
  readonly kronicle: RunningKronicle;
}

/** Starts before the block's tests and stops after them; read `.current` inside tests. */
export function useKronicle(): { current: ServerUnderTest } {
  const holder = {} as { current: ServerUnderTest };
  beforeAll(async () => {
    const store = new MemoryEventStore();
    holder.current = { store, kronicle: await startKronicle({ store, port: 0 }) };
  });
  afterAll(async () => {
    await holder.current.kronicle.close();
    await holder.current.store.close();
  });
  return holder;
}
