/**
 * Files the CLI writes for 2D samples, the same kinds the app exports: a scatter plot PNG and
 * trajectories as CSV.
 */
// The scatter plot is the app's own export (main/studio/export.ts), so the CLI writes the same file.
export { scatterPng } from '../studio/export';

/**
 * Trajectories as CSV: a header `step,t,sample,x0,x1,...` and one row per (grid time, sample).
 * @param states x at each time, [n][d] each.
 */
export function trajectoriesCsv(times: readonly number[], states: readonly (readonly (readonly number[])[])[]): string {
  const d = states[0]?.[0]?.length ?? 0;
  const header = ['step', 't', 'sample', ...Array.from({ length: d }, (_, j) => `x${j}`)].join(',');
  const rows: string[] = [header];
  states.forEach((s, k) => s.forEach((p, i) => rows.push(`${k},${times[k]},${i},${p.join(',')}`)));
  return `${rows.join('\n')}\n`;
}
