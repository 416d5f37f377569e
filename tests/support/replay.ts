/**
 * Recorded histories as regression tests:
 *
 *   await expectReplayToMatch('tests/fixtures/histories/rc-scale.ndjson');
 *
 * folds the recorded events with today's code and fails, with the objects and fields that came
 * out differently, when the result is not the state recorded at the end of the history.
 */
import * as fs from 'node:fs';
import { checkReplay } from '../../replay/historyFile';

export async function expectReplayToMatch(file: string): Promise<void> {
  const result = checkReplay(fs.readFileSync(file, 'utf8'));
  const problems: string[] = [];
  for (const u of result.undecodable) problems.push(`  event ${u} no longer decodes`);
  for (const p of result.positionMismatches.slice(0, 10)) problems.push(`  the state after event ${p} differs from the live state recorded there`);
  for (const m of result.mismatches) {
    problems.push(`  ${m.object}:`);
    for (const c of m.changes.slice(0, 20)) problems.push(`    ${c.op} ${c.path}: recorded ${JSON.stringify(c.from)} → replayed ${JSON.stringify(c.to)}`);
  }
  if (problems.length > 0) throw new Error(`replaying ${file} (${result.events} events) does not reproduce its recorded state:\n${problems.join('\n')}`);
}
