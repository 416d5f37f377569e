/**
 * `kronicle verify`: recomputes the hash chain over the whole log and names the first event
 * whose stored bytes no longer match it.
 */
import { isChainedLog, verifyChain, type VerifyReport } from '../core/store/chain';
import type { EventStore } from '../core/store/port';
import { ReplayError } from './history';

export function verifyLog(store: EventStore, onProgress?: (checked: number, position: bigint) => void): VerifyReport {
  if (!isChainedLog(store)) throw new ReplayError(`${store.description} keeps no hash chain to verify (the embedded SQLite log does)`);
  return verifyChain(store, onProgress);
}
