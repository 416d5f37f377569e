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
import { resimulate, type ResimulationReport, type SimulationOptions } from '../../api/simulation';

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

/**
 * Re-simulation as a regression test:
 *
 *   await expectResimulationToMatch('tests/fixtures/histories/rc-scale.ndjson');
 *
 * sends the history's recorded user requests again, at their recorded times, to today's control
 * plane in the simulator, and fails with the first events and objects that came out differently.
 */
export async function expectResimulationToMatch(file: string, options: SimulationOptions = {}): Promise<ResimulationReport> {
  const report = await resimulate(fs.readFileSync(file, 'utf8'), options);
  const problems: string[] = [];
  for (const r of report.refused) problems.push(`  input ${r.request} was refused now: ${r.status} ${r.message}`);
  for (const d of report.differences.slice(0, 5)) {
    const name = (x?: { position: string; type: string; stream: string; actor: string }) => (x ? `${x.type} ${x.stream} by ${x.actor} at ${x.position}` : 'nothing');
    problems.push(`  event ${d.index + 1}: recorded ${name(d.recorded)}, re-simulated ${name(d.resimulated)}`);
    for (const c of d.changes.slice(0, 10)) problems.push(`    ${c.op} ${c.path}: recorded ${JSON.stringify(c.from)} → now ${JSON.stringify(c.to)}`);
  }
  if (report.recordedEvents !== report.resimulatedEvents) problems.push(`  ${report.recordedEvents} events recorded, ${report.resimulatedEvents} re-simulated`);
  for (const m of report.finalDifferences.slice(0, 10)) problems.push(`  final state of ${m.object} differs (${m.changes.length} fields)`);
  if (problems.length > 0) throw new Error(`re-simulating ${file} (${report.inputs} inputs) does not reproduce its history:\n${problems.join('\n')}`);
  return report;
}
