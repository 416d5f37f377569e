import { MemoryEventStore } from '../core/store/memory';
import { eventStoreConformance } from './conformance/eventStore.conformance';

eventStoreConformance('memory', async () => {
  const store = new MemoryEventStore();
  return { store, dispose: () => store.close() };
});
