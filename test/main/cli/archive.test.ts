// `flow-studio runs export ID --archive FILE.zip` through the real command line, read back by readers
// this project did not write: Python's zipfile and csv modules and Info-ZIP's unzip, in child
// processes. The archive must hold the run's config, weights, metrics, samples (PNG with axes and
// CSV) and trajectories, each agreeing with what `runs show`/`runs export` report. Skipped where
// python3 or unzip is missing.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, freshHome, jsonOf, show, writeJson } from './helpers';

const havePython = spawnSync('python3', ['-c', 'import zipfile, csv, json, struct'], { encoding: 'utf8' }).status === 0;
const haveUnzip = spawnSync('unzip', ['-v'], { encoding: 'utf8' }).status === 0;

/** Everything Python reads out of the archive: names, the parsed JSON and CSV files, PNG headers. */
const READER = String.raw`
import base64, csv, io, json, struct, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
assert z.testzip() is None, 'a CRC does not match'
out = {'names': z.namelist(), 'json': {}, 'csv': {}, 'png': {}, 'magic': {}, 'text': {}, 'safetensors': {}, 'bytes': {}}
for n in z.namelist():
    data = z.read(n)
    base = n.split('/', 1)[1]
    if n.endswith('.json'):
        out['json'][base] = json.loads(data)
    elif n.endswith('.csv'):
        out['csv'][base] = list(csv.reader(io.StringIO(data.decode('utf8'), newline='')))
    elif n.endswith('.png'):
        assert data[:8] == b'\x89PNG\r\n\x1a\n', n
        w, h, depth, colour = struct.unpack('>IIBB', data[16:26])
        out['png'][base] = {'width': w, 'height': h, 'depth': depth, 'colour': colour}
    elif n.endswith('.txt'):
        out['text'][base] = data.decode('utf8')
    elif n.endswith('.safetensors'):
        # The safetensors layout read by hand (u64 LE header length, JSON header, data), so no library is needed.
        (hlen,) = struct.unpack('<Q', data[:8])
        header = json.loads(data[8:8 + hlen])
        meta = header.pop('__metadata__', {})
        end = max(t['data_offsets'][1] for t in header.values())
        assert 8 + hlen + end == len(data), 'data length'
        out['bytes'][base] = base64.b64encode(data).decode('ascii')
        out['safetensors'][base] = {'tensors': {k: t['shape'] for k, t in header.items()}, 'meta': json.loads(meta['flow_studio'])}
    else:
        out['magic'][base] = data[:4].decode('latin1')
print(json.dumps(out))
`;

interface Read {
  names: string[];
  json: Record<string, Record<string, unknown>>;
  csv: Record<string, string[][]>;
  png: Record<string, { width: number; height: number; depth: number; colour: number }>;
  magic: Record<string, string>;
  text: Record<string, string>;
  bytes: Record<string, string>;
  safetensors: Record<string, { tensors: Record<string, number[]>; meta: { step: number; ema: boolean; runId: string } }>;
}

describe.skipIf(!havePython || !haveUnzip)('runs export --archive', () => {
  const home = freshHome();
  let runId = '';
  let read: Read;
  let archive = '';

  beforeAll(async () => {
    const config = writeJson(home, 'tiny.json', {
      name: 'archive test',
      data: { kind: 'toy2d', name: 'moons', noise: 0.05 },
      model: { kind: 'mlp', width: 16, depth: 1, timeEmbedDim: 0 },
      train: { steps: 20, batchSize: 32, logEvery: 5, sampleEvery: 10, sampleCount: 64, checkpointEvery: 10 },
      sampling: { solver: 'euler', steps: 8 },
    });
    const t = await cli(['train', '--config', config, '--json'], { home, timeoutMs: 150_000 });
    expect(t.code, show(t)).toBe(0);
    runId = String(jsonOf(t).runId);
    archive = join(home, 'out', 'run.zip');
    const r = await cli(['runs', 'export', runId, '--archive', archive, '--json'], { home });
    expect(r.code, show(r)).toBe(0);
    const doc = jsonOf<{ archive: string; entries: string[] }>(r);
    expect(doc.archive).toBe(archive);
    const py = spawnSync('python3', ['-c', READER, archive], { encoding: 'utf8', maxBuffer: 64 << 20 });
    expect(py.status, py.stderr).toBe(0);
    read = JSON.parse(py.stdout) as Read;
    expect(read.names).toEqual(doc.entries);
  }, 180_000);

  it('holds every part, in a folder named after the run, and Info-ZIP tests it clean', () => {
    expect(read.names.map((n) => n.split('/')[0])).toEqual(read.names.map(() => 'archive-test'));
    expect(read.names.map((n) => n.split('/')[1]).sort()).toEqual(
      [
        'README.txt',
        'config.json',
        'metrics.csv',
        'model.json',
        'samples.csv',
        'samples.png',
        'trajectories.csv',
        'model.safetensors',
      ].sort(),
    );
    const t = spawnSync('unzip', ['-t', archive], { encoding: 'utf8' });
    expect(t.status, t.stdout + t.stderr).toBe(0);
    expect(t.stdout).toMatch(/No errors detected/);
  });

  it('config, metrics and weights are the stored ones', async () => {
    const shown = jsonOf<{ run: { config: unknown; step: number }; checkpoints: { step: number }[] }>(
      await cli(['runs', 'show', runId, '--json'], { home }),
    );
    expect(read.json['config.json']).toEqual(shown.run.config);
    const exported = jsonOf<{ metrics: { name: string; steps: number[]; values: number[] }[] }>(
      await cli(['runs', 'export', runId, '--json'], { home }),
    );
    const rows = read.csv['metrics.csv']!;
    expect(rows[0]).toEqual(['step', 'name', 'value']);
    const expected = exported.metrics.flatMap((m) => m.steps.map((s, i) => [String(s), m.name, m.values[i]!] as const));
    expect(rows.slice(1).map(([s, n, v]) => [s, n, Number(v)])).toEqual(expected.map(([s, n, v]) => [s, n, v]));
    // The weights: the same model file as `runs export --model` (safetensors, the model config in its metadata).
    const file = join(home, 'out', 'model.safetensors');
    const m = await cli(['runs', 'export', runId, '--model', file, '--json'], { home });
    expect(m.code, show(m)).toBe(0);
    expect(readFileSync(file)).toEqual(Buffer.from(read.bytes['model.safetensors']!, 'base64'));
    const st = read.safetensors['model.safetensors']!;
    expect(st.meta).toMatchObject({ step: shown.checkpoints.at(-1)!.step, ema: true, runId });
    expect(Object.keys(st.tensors).length).toBeGreaterThan(0);
    expect(read.json['model.json']).toMatchObject({
      runId,
      step: shown.checkpoints.at(-1)!.step,
      weights: 'ema',
      weightsFile: 'model.safetensors',
    });
  });

  it('samples come as a PNG plot with axes and as numbers; trajectories run from t = 0 to 1', () => {
    const png = read.png['samples.png']!;
    // The scatter plot with its tick labels is wider than the plot area alone, in RGB (colour type 2).
    expect(png).toMatchObject({ depth: 8, colour: 2 });
    expect(png.width).toBeGreaterThan(500);
    const pts = read.csv['samples.csv']!;
    expect(pts[0]).toEqual(['x', 'y']);
    expect(pts.length - 1).toBe(64);
    expect(pts.slice(1).every((r) => r.length === 2 && r.every((v) => Number.isFinite(Number(v))))).toBe(true);
    const traj = read.csv['trajectories.csv']!;
    expect(traj[0]).toEqual(['particle', 'k', 't', 'x', 'y']);
    const rows = traj.slice(1).map((r) => r.map(Number));
    const particles = new Set(rows.map((r) => r[0]));
    expect(particles.size).toBe(256);
    const times = rows.filter((r) => r[0] === 0).map((r) => r[2]!);
    expect(times[0]).toBe(0);
    expect(times.at(-1)).toBe(1);
    expect(times).toHaveLength(9); // euler x 8: the 9 grid times
    expect(read.text['README.txt']).toContain(runId);
  });

  it('refuses --archive together with --out, naming both', async () => {
    const r = await cli(['runs', 'export', runId, '--archive', join(home, 'x.zip'), '--out', join(home, 'x.json')], { home });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--out/);
  });
});
