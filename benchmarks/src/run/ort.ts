import * as ort from 'onnxruntime-node';
import { openOrtModel, ortProvider, runOrtInferCell } from '../cells/infer-cell.js';
import { ORT_BACKENDS, type OrtBackend } from '../types.js';
import { variantSpec } from '../variants.js';
import { type BenchRun, errorMessage } from './context.js';

/**
 * The onnxruntime-node execution providers: each is probed (ort-cpu also when accuracy needs it),
 * then its infer cells run. Returns the providers that work.
 */
export async function runOrtBackends(run: BenchRun): Promise<OrtBackend[]> {
  const { plan, env } = run;
  const supported = ort.listSupportedBackends();
  const working: OrtBackend[] = [];
  for (const backend of ORT_BACKENDS) {
    if (!plan.backends.includes(backend) && !(backend === 'ort-cpu' && run.want('accuracy'))) continue;
    const ep = ortProvider(backend);
    const listed = supported.find((s) => s.name === ep);
    try {
      if (!listed) throw new Error(`onnxruntime-node ${ort.env.versions.node ?? ''} does not list '${ep}'`);
      const probe = await openOrtModel({ spec: variantSpec('lenet5') }, backend);
      await probe.classifier.dispose();
      env.onnxProviders[ep] =
        `used (onnxruntime-node ${ort.env.versions.node ?? '?'}${listed.bundled ? '' : ', provider installed separately'})`;
      working.push(backend);
    } catch (err) {
      const msg = errorMessage(err, true);
      const reason =
        ep === 'cuda'
          ? `CUDA execution provider not available (needs CUDA 12 + cuDNN 9 and the provider onnxruntime-node downloads at install; see docs/gpu.md): ${msg}`
          : `not available: ${msg}`;
      env.onnxProviders[ep] = reason;
      if (plan.backends.includes(backend) && run.want('infer')) run.skipAll(backend, reason);
      continue;
    }
    if (!plan.backends.includes(backend) || !run.want('infer')) continue;
    run.log(`${backend}: ${env.onnxProviders[ep]}`);
    for (const model of plan.models) {
      const spec = run.spec(model);
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
            timing: run.timing(backend, 'infer'),
            data: run.data,
          }),
      );
    }
  }
  return working;
}
