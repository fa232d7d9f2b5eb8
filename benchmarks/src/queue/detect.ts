// Which benchmark columns this machine can measure, found the way a run finds them: each
// TensorFlow.js backend switched to, each onnxruntime provider probed with a LeNet-5 session,
// PyTorch looked for. A bench worker takes the jobs of these backends only.
import { useBackend } from '@lenet/backend';
import { findTorch } from '../pytorch.js';
import { errorMessage } from '../run/context.js';
import { probeOrt } from '../run/ort.js';
import { describeBackend } from '../run/tfjs.js';
import {
  type BenchBackend,
  FIT_BACKENDS,
  ORT_BACKENDS,
  type OrtBackend,
  PYTORCH_BACKEND,
  TFJS_BACKENDS,
  type TfjsBackend,
} from '../types.js';

/** One backend as found on this machine: how it runs, or why it cannot. */
export type Detected =
  | { backend: BenchBackend; ok: true; how: string }
  | { backend: BenchBackend; ok: false; reason: string };

async function detectOne(backend: BenchBackend): Promise<Detected> {
  try {
    if ((TFJS_BACKENDS as readonly string[]).includes(backend)) {
      return { backend, ok: true, how: describeBackend(await useBackend(backend as TfjsBackend)) };
    }
    if (backend in FIT_BACKENDS) {
      const info = await useBackend('wasm');
      return { backend, ok: true, how: `fit on wasm (${describeBackend({ ...info, kernels: undefined })})` };
    }
    if ((ORT_BACKENDS as readonly string[]).includes(backend)) {
      const probed = await probeOrt(backend as OrtBackend);
      return probed.ok
        ? { backend, ok: true, how: probed.how }
        : { backend, ok: false, reason: probed.reason };
    }
    if (backend === PYTORCH_BACKEND) {
      const torch = await findTorch();
      return torch.ok
        ? { backend, ok: true, how: `torch ${torch.torch} via ${torch.python}` }
        : { backend, ok: false, reason: torch.reason };
    }
    return { backend, ok: false, reason: 'not a backend this harness knows' };
  } catch (err) {
    return { backend, ok: false, reason: `not available: ${errorMessage(err, true)}` };
  }
}

/** Tries each of `backends` in turn (in the order given) and says which work here. */
export async function detectBackends(backends: readonly BenchBackend[]): Promise<Detected[]> {
  const found: Detected[] = [];
  for (const backend of backends) found.push(await detectOne(backend));
  return found;
}
