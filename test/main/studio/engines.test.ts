// Settings carries the engines' diagnostics (main/runtime/engines.ts) for the renderer: the PyTorch
// engine as the real Python found here reports it, and tfjs-node-gpu's needs. Settings does not wait
// for the Python probe beyond a short bound, so the field may be absent at first: asked again, it
// arrives.
import { afterAll, describe, expect, it } from 'vitest';
import type { Settings } from '../../../common/contract';
import { findTorchPython } from '../../../main/runtime/python';
import { freshStudio } from './helpers';

const studio = freshStudio();
afterAll(() => studio.dispose());

describe('settings: engines', () => {
  it('reports the PyTorch engine (interpreter, torch, devices) and tfjs-node-gpu, agreeing with findTorchPython', async () => {
    let s: Settings = await studio.call('settings', {});
    for (let i = 0; i < 60 && !s.engines; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      s = await studio.call('settings', {});
    }
    expect(s.engines, 'engines never arrived').toBeDefined();
    const found = await findTorchPython();
    expect(s.engines!.pytorch.ok).toBe(found.ok);
    if (s.engines!.pytorch.ok && found.ok) {
      expect(s.engines!.pytorch.torch).toBe(found.python.torch);
      expect(s.engines!.pytorch.devices.cpu.threads).toBeGreaterThan(0);
    }
    expect(s.engines!.tfjsGpu.libraries.map((l) => l.name)).toEqual(['libcudart.so.11.0', 'libcudnn.so.8']);
    expect(s.engines!.tfjsGpu.message.length).toBeGreaterThan(0);
  }, 120_000);
});
