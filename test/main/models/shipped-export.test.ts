// exportShippedModel writes weights.safetensors (a model file any safetensors reader loads), and
// shippedModel loads it back: the same velocity as the run's own EMA model, on a real trained run.
import { readFileSync, rmSync, mkdtempSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tf } from '../../../core/tf';
import { decodeSafetensors, flowStudioMetadata } from '../../../main/models/safetensors';
import { exportShippedModel, shippedModel } from '../../../main/models/shipped';
import { resolveModel } from '../../../main/models/load';
import { Harness, tinyMoons } from '../training/helpers';

const dir = mkdtempSync(join(tmpdir(), 'fs-shipped-'));
const h = new Harness({ backend: 'cpu' });
afterAll(async () => {
  await h.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe('exportShippedModel', () => {
  it('writes a safetensors model file that shippedModel loads with the run EMA field', async () => {
    const id = h.run(tinyMoons({ train: { steps: 20, checkpointEvery: 20 } }));
    const r = await h.sup.start(id);
    expect(r, r.error).toMatchObject({ status: 'completed' });
    exportShippedModel(h.store, id, 'tiny', 'a test model', {}, dir);
    expect(existsSync(join(dir, 'tiny', 'weights.fst'))).toBe(false);
    const file = decodeSafetensors(new Uint8Array(readFileSync(join(dir, 'tiny', 'weights.safetensors'))));
    expect(flowStudioMetadata(file)).toMatchObject({ format: 'flow-studio-model', step: 20, ema: true, runId: id });

    const shipped = shippedModel('tiny', dir);
    const run = resolveModel(id, { store: h.store });
    const x = tf.tensor2d([0.1, -0.3, 1.2, 0.4, -0.7, 0.9], [3, 2]);
    try {
      const a = shipped.field(0)(x, 0.37).arraySync() as number[][];
      const b = run.field(0)(x, 0.37).arraySync() as number[][];
      expect(a).toEqual(b);
      expect(a.flat().some((v) => Math.abs(v) > 1e-3)).toBe(true);
    } finally {
      x.dispose();
      shipped.dispose();
      run.dispose();
    }
  }, 120_000);
});
