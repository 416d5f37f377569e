/**
 * Event ids. Kronicle's own ids are UUID version 7 (RFC 9562): time-ordered, so the log's
 * unique index on event ids grows at its right edge instead of touching a random page per
 * event (which made each group commit write and fsync many more pages). Tests and simulations
 * use seeded sources instead; any UUID is accepted by the stores.
 */
import { randomFillSync } from 'node:crypto';
import type { IdSource } from './shell';

/** Random bytes served from a pool refilled 4 KiB at a time (one system call per ~400 ids). */
function pooledRandom(): (n: number) => Buffer {
  const pool = Buffer.alloc(4096);
  let offset = pool.length;
  return (n) => {
    if (offset + n > pool.length) {
      randomFillSync(pool);
      offset = 0;
    }
    const out = pool.subarray(offset, offset + n);
    offset += n;
    return out;
  };
}

/** UUIDv7 from a clock and a random source; monotonic within one millisecond. */
export function uuidV7Source(clock: () => number = Date.now, random: (n: number) => Buffer = pooledRandom()): IdSource {
  let lastMs = -1;
  let counter = 0;
  return {
    uuid(): string {
      let ms = clock();
      if (ms <= lastMs) {
        ms = lastMs;
        counter++;
        if (counter > 0xfff) {
          // 4096 ids in one millisecond: borrow the next millisecond to stay ordered.
          ms = ++lastMs;
          counter = 0;
        }
      } else {
        lastMs = ms;
        counter = random(2).readUInt16BE(0) & 0x7ff;
      }
      const rand = random(8);
      const hex = ms.toString(16).padStart(12, '0');
      const c = (0x7000 | counter).toString(16);
      const variant = ((rand[0] & 0x3f) | 0x80).toString(16).padStart(2, '0');
      const tail = rand.subarray(1, 8).toString('hex');
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${c}-${variant}${tail.slice(0, 2)}-${tail.slice(2, 14)}`;
    },
  };
}

/**
 * Deterministic UUIDs (v4-shaped) from a counter: simulations and tests, where a run must be
 * reproducible id for id. `prefix` keeps the ids of separate sources apart.
 */
export function sequentialIds(prefix = 0): IdSource {
  let n = 0;
  return {
    uuid: () => {
      const hex = (prefix * 1_000_000 + ++n).toString(16).padStart(12, '0');
      return `00000000-0000-4000-8000-${hex}`;
    },
  };
}
