/**
 * Given/when/then for deciders: given the events already in an object's stream, when a command
 * arrives at a fixed time, then these events (or this rejection).
 */
import * as E from 'fp-ts/Either';
import { decide, evolve, initialState, type ObjectCommand, type ObjectState } from '../../core/deciders/object';
import type { ObjectEvent } from '../../core/events/types';
import type { Rejection } from '../../core/rejection';
import type { Recorded } from '../../core/events/envelope';

export const NOW = new Date('2026-11-27T10:00:00.000Z');
export const UID = '11111111-2222-4333-8444-555555555555';

export function foldGiven(events: readonly ObjectEvent[]): ObjectState {
  return events.reduce<ObjectState>(
    (state, event, i) =>
      evolve(state, {
        id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
        stream: 'test',
        revision: BigInt(i),
        position: BigInt(100 + i),
        recordedAt: NOW,
        event,
        metadata: { schemaVersion: 1, actor: { kind: 'user', name: 'test' } },
      } as Recorded<ObjectEvent>),
    initialState(),
  );
}

export const DeciderSpecification = {
  for: (kind: string) => ({
    given: (events: readonly ObjectEvent[]) => ({
      when: (command: ObjectCommand, now: Date = NOW) => {
        const result = decide(kind, command, foldGiven(events), { now, uid: UID });
        return {
          then: (expected: readonly ObjectEvent[]) => {
            if (E.isLeft(result)) throw new Error(`expected events, got rejection: ${result.left.message}`);
            expect(result.right).toEqual(expected);
          },
          thenRejects: (reason: Rejection['reason'], message?: string | RegExp) => {
            if (E.isRight(result)) throw new Error(`expected a rejection, got ${JSON.stringify(result.right)}`);
            expect(result.left.reason).toBe(reason);
            if (message) expect(result.left.message).toMatch(message);
          },
          events: (): readonly ObjectEvent[] => {
            if (E.isLeft(result)) throw new Error(result.left.message);
            return result.right;
          },
        };
      },
    }),
  }),
};
