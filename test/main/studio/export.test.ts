// The CSV exports read back by Python's csv module (an independent RFC 4180 reader, in a real child
// process): metric names with commas, quotes and line breaks stay one field, and every value comes
// back. Skipped where no python3 is on the PATH.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { exportFiles } from '../../../main/studio/export';
import { newRun, openTemp } from '../store/helpers';

const python = spawnSync('python3', ['-c', 'import csv, json'], { encoding: 'utf8' });
const havePython = !python.error && python.status === 0;

/** The rows of a CSV document as Python's csv.reader sees them. */
function pythonRows(text: string): string[][] {
  const r = spawnSync(
    'python3',
    ['-c', 'import csv, io, json, sys; print(json.dumps(list(csv.reader(io.StringIO(sys.stdin.read(), newline="")))))'],
    {
      input: text,
      encoding: 'utf8',
    },
  );
  if (r.status !== 0) throw new Error(`python3 failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as string[][];
}

describe.skipIf(!havePython)('run export: CSV', () => {
  it('metric names with commas, quotes and line breaks come back as one field, with every step and value', async () => {
    const { store } = openTemp();
    const run = store.createRun(newRun());
    const names = ['loss', 'val, "clean"', 'two\nlines', 'a\r\nb "c"'];
    const values = [0.5, -1e-7, NaN, Infinity, 123456789.125];
    store.appendMetrics(
      run.id,
      names.flatMap((name, k) => values.map((value, i) => ({ step: i + 1 + k, name, value }))),
    );
    const files = await exportFiles(store, store.getRun(run.id), ['metrics'], () => {
      throw new Error('metrics need no sampling');
    });
    const rows = pythonRows(Buffer.from(files[0]!.base64, 'base64').toString('utf8'));
    expect(rows[0]).toEqual(['step', 'name', 'value']);
    const expected = store.getMetrics(run.id).flatMap((s) => s.steps.map((step, i) => [step, s.name, s.values[i]!] as const));
    expect(rows).toHaveLength(1 + names.length * values.length);
    rows.slice(1).forEach(([step, name, value], i) => {
      const [s, n, v] = expected[i]!;
      expect([Number(step), name]).toEqual([s, n]);
      expect(Object.is(Number(value), v), `row ${i + 1}: ${value} vs ${v}`).toBe(true);
    });
  });
});
