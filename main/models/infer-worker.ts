/**
 * Worker-thread entry of an inference helper (main/models/threaded.ts): holds a copy of one model
 * on its own tfjs backend and computes the forward pass of the rows it is sent. It serves requests
 * synchronously (Atomics.wait on the shared REQ counter, then receiveMessageOnPort) and never
 * returns to its event loop until told to stop.
 */
import { receiveMessageOnPort, workerData } from 'node:worker_threads';
import { tf } from '../../core/tf';
import { modelFromWeights, type VelocityModel } from '../../core/model';
import { selectBackend } from '../runtime/backend';
import { CTRL_DONE, CTRL_READY, CTRL_REQ, HELPER_GONE, type InferReply, type InferRequest, type InferSetup } from './infer-protocol';

const setup = workerData as InferSetup;
const ctrl = new Int32Array(setup.ctrl);
const port = setup.port;

// However the thread ends, a caller blocked in Atomics.wait for an answer must wake up and see it.
process.on('exit', () => {
  Atomics.store(ctrl, CTRL_READY, HELPER_GONE);
  Atomics.notify(ctrl, CTRL_DONE);
});

function serve(): void {
  let model: { key: number; m: VelocityModel } | null = null;
  let seen = 0;
  for (;;) {
    Atomics.wait(ctrl, CTRL_REQ, seen);
    const now = Atomics.load(ctrl, CTRL_REQ);
    // Every request is answered in order; the caller sends the next only after this one's answer.
    while (seen < now) {
      seen++;
      const req = receiveMessageOnPort(port)?.message as InferRequest | undefined;
      let reply: InferReply;
      try {
        if (!req) throw new Error('request missing from the port');
        if (req.kind === 'stop') {
          model?.m.dispose();
          return;
        }
        if (req.kind === 'unload') {
          model?.m.dispose();
          model = null;
          reply = { kind: 'unloaded' };
        } else if (req.kind === 'load') {
          model?.m.dispose();
          model = null;
          const w = new Map(req.weights.map((v) => [v.name, tf.tensor(v.data, v.shape, 'float32')]));
          try {
            model = { key: req.key, m: modelFromWeights(req.config, w) };
          } finally {
            tf.dispose([...w.values()]);
          }
          reply = { kind: 'loaded' };
        } else {
          if (!model || model.key !== req.key) throw new Error(`model ${req.key} is not loaded in this thread`);
          const m = model.m;
          const y = tf.tidy(() => {
            const x = tf.tensor(req.x, req.shape, 'float32');
            const t = tf.tensor1d(req.t, 'float32');
            const l = req.labels ? tf.tensor1d(req.labels, 'int32') : undefined;
            return m.apply(x, t, l);
          });
          const data = y.dataSync() as Float32Array;
          y.dispose();
          reply = { kind: 'result', y: data };
        }
      } catch (e) {
        reply = { kind: 'error', message: e instanceof Error ? e.message : String(e) };
      }
      port.postMessage(reply);
      Atomics.store(ctrl, CTRL_DONE, seen);
      Atomics.notify(ctrl, CTRL_DONE);
    }
  }
}

selectBackend(setup.backend)
  .then(() => {
    Atomics.store(ctrl, CTRL_READY, 1);
    serve();
  })
  .catch((e: unknown) => {
    console.error(`inference thread: ${e instanceof Error ? e.message : String(e)}`);
  })
  .finally(() => {
    port.close();
    process.exit(0);
  });
