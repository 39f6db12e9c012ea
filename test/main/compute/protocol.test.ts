/**
 * The compute worker's protocol through a real ComputeClient and worker thread on a real SQLite
 * file: replies have the task's result type (checked by the type checker, which runs over this
 * file), a wrong argument is a compile error, and arguments that get past the types are refused by
 * the worker's schema with the field named, before anything runs. A latent pick through the worker
 * is compared with the MNIST digit read directly (main/data), an independent reference.
 */
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ComputeClient } from '../../../main/compute/client';
import { ContractError } from '../../../main/compute/errors';
import type { TaskArgs } from '../../../main/compute/protocol';
import { RunStore } from '../../../main/store';
import { mnistDigit } from '../../../main/data';
import { shippedModelsDir } from '../../../main/runtime/resources';
import type { BackendInfo } from '../../../main/runtime/backend';
import type { FieldView, LatentModelInfo, SampleResult } from '../../../common/contract';
import type { LatentImage, LatentTaskResults } from '../../../common/latent';

const shipped = existsSync(join(shippedModelsDir(), 'mnist', 'model.json'));
let dir: string;
let client: ComputeClient;

/** The error a failed run rejects with, as the host sees it. */
async function refusal(p: Promise<unknown>): Promise<ContractError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ContractError);
  return e as ContractError;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fs-compute-'));
  const dbPath = join(dir, 'flow-studio.db');
  RunStore.open(dbPath).close(); // the host creates and checks the store before starting the worker
  client = new ComputeClient({ dbPath, backend: 'wasm' });
});
afterAll(async () => {
  await client?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('compute worker protocol', () => {
  it('types each reply by its task, and refuses wrong arguments at compile time', () => {
    // Compile-time only (the type checker runs over tests): the functions are never called.
    const typed = () => {
      expectTypeOf(client.run('sample', { runId: 'r1', n: 4 })).resolves.toEqualTypeOf<SampleResult>();
      expectTypeOf(client.run('field', { runId: 'r1', t: 0.5 })).resolves.toEqualTypeOf<FieldView>();
      expectTypeOf(client.run('backend', {})).resolves.toEqualTypeOf<BackendInfo>();
      expectTypeOf(client.run('latent-models', {})).resolves.toEqualTypeOf<LatentModelInfo[]>();
      // A latent task's reply is the result of its op.
      expectTypeOf(
        client.run('latent', { model: 'shipped:mnist', task: { op: 'pick', source: { kind: 'dataset', classId: 1, index: 0 } } }),
      ).resolves.toEqualTypeOf<LatentImage>();
      expectTypeOf(client.run('latent', { model: 'm', task: { op: 'invert', request: { images: [] } } })).resolves.toEqualTypeOf<
        LatentTaskResults['invert']
      >();
      // @ts-expect-error the sample task takes a runId, not the contract's id
      void client.run('sample', { id: 'r1' });
      // @ts-expect-error t is a number
      void client.run('field', { runId: 'r1', t: '0.5' });
      // @ts-expect-error a pick takes a source, not a request
      void client.run('latent', { model: 'm', task: { op: 'pick', request: { images: [] } } });
      // @ts-expect-error no such task
      void client.run('train', {});
    };
    expect(typeof typed).toBe('function');
  });

  it('answers a task with its result', async () => {
    const b = await client.run('backend', {});
    expect(b.name).toBe('wasm');
    expect(b.reason).toBe('requested');
  }, 60_000);

  it('refuses arguments outside their schema, naming the field, before running anything', async () => {
    // Values of the right type but outside the contract's bounds: only the worker's parse sees them.
    const t = await refusal(client.run('field', { runId: 'no-such-run', t: 2 }));
    expect(t.info).toMatchObject({ code: 'invalid', field: 't' });
    expect(t.message).toMatch(/^compute task field: t: /);
    const n = await refusal(client.run('sample', { runId: 'no-such-run', n: 0 }));
    expect(n.info).toMatchObject({ code: 'invalid', field: 'n' });
    // Well-formed arguments reach the task, which then finds no run (not a schema error).
    const missing = await refusal(client.run('field', { runId: 'no-such-run', t: 0.5 }));
    expect(missing.info.code).toBe('not-found');
  }, 60_000);

  it.skipIf(!shipped)(
    'refuses a host path posted to the worker directly, and picks a digit equal to the dataset',
    async () => {
      // The contract never lets a 'file' source through; the worker checks again with the app's schema.
      const task = { op: 'pick', source: { kind: 'file', path: '/etc/passwd' } } as unknown as TaskArgs<'latent'>['task'];
      const file = await refusal(client.run('latent', { model: 'shipped:mnist', task }));
      expect(file.info).toMatchObject({ code: 'invalid', field: 'task.source.kind' });

      const img = await client.run('latent', {
        model: 'shipped:mnist',
        task: { op: 'pick', source: { kind: 'dataset', classId: 7, index: 3 } },
      });
      const ref = mnistDigit(7, 3);
      expect(img.label).toBe(7);
      expect(img.shape).toEqual([28, 28, 1]);
      expect(img.pixels).toEqual(Array.from(ref.data));
    },
    120_000,
  );
});
