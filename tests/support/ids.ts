import type { IdSource } from '../../core/shell';

/** Deterministic UUIDs (v4-shaped) from a counter, for reproducible tests. */
export function sequentialIds(prefix = 0): IdSource {
  let n = 0;
  return {
    uuid: () => {
      const hex = (prefix * 1_000_000 + ++n).toString(16).padStart(12, '0');
      return `00000000-0000-4000-8000-${hex}`;
    },
  };
}
