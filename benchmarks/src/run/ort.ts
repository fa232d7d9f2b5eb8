import * as ort from 'onnxruntime-node';
import { openOrtModel, ortProvider, runOrtInferCell } from '../cells/infer-cell.js';
import { ORT_BACKENDS, type OrtBackend } from '../types.js';
import { variantSpec } from '../variants.js';
import { type BenchRun, errorMessage } from './context.js';
import type { Phase } from './phase.js';

/**
 * Whether an onnxruntime-node execution provider works on this machine (listed, and a LeNet-5
 * session opens on it): how it is used, or why not.
 */
export async function probeOrt(
  backend: OrtBackend,
): Promise<{ ok: true; how: string } | { ok: false; reason: string }> {
  const ep = ortProvider(backend);
  const listed = ort.listSupportedBackends().find((s) => s.name === ep);
  try {
    if (!listed) throw new Error(`onnxruntime-node ${ort.env.versions.node ?? ''} does not list '${ep}'`);
    const probe = await openOrtModel({ spec: variantSpec('lenet5') }, backend);
    await probe.classifier.dispose();
    return {
      ok: true,
      how: `used (onnxruntime-node ${ort.env.versions.node ?? '?'}${listed.bundled ? '' : ', provider installed separately'})`,
    };
  } catch (err) {
    const msg = errorMessage(err, true);
    return {
      ok: false,
      reason:
        ep === 'cuda'
          ? `CUDA execution provider not available (needs CUDA 12 + cuDNN 9 and the provider onnxruntime-node downloads at install; see docs/gpu.md): ${msg}`
          : `not available: ${msg}`,
    };
  }
}

/**
 * The onnxruntime-node execution providers, as a phase: each is probed at the start (ort-cpu also
 * when accuracy needs it), then per model each working provider's infer cells. `working` lists
 * the providers that work.
 */
export function ortPhase(run: BenchRun): Phase & { readonly working: OrtBackend[] } {
  const { plan, env } = run;
  const working: OrtBackend[] = [];
  const active: OrtBackend[] = [];
  return {
    working,
    async start() {
      for (const backend of ORT_BACKENDS) {
        if (!plan.backends.includes(backend) && !(backend === 'ort-cpu' && run.want('accuracy'))) continue;
        const ep = ortProvider(backend);
        const probed = await probeOrt(backend);
        if (probed.ok) {
          env.onnxProviders[ep] = probed.how;
          working.push(backend);
        } else {
          env.onnxProviders[ep] = probed.reason;
          if (plan.backends.includes(backend) && run.want('infer')) run.skipAll(backend, probed.reason);
          continue;
        }
        if (!plan.backends.includes(backend) || !run.want('infer')) continue;
        run.log(`${backend}: ${env.onnxProviders[ep]}`);
        active.push(backend);
      }
    },
    async model(model) {
      const spec = run.spec(model);
      for (const backend of active) {
        await run.runCells(
          'infer',
          model,
          backend,
          run.inferBatches(model),
          run.skipReason(model, backend),
          (batch) =>
            runOrtInferCell({
              model,
              spec,
              backend,
              batch,
              timing: run.timing(backend, 'infer', model),
              data: run.data,
            }),
        );
      }
    },
    finish() {},
  };
}
