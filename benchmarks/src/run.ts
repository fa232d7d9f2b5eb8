import { type BackendInfo, useBackend } from '@lenet/backend';
import type { ModelSpec } from '@lenet/models';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import type { Task } from './args.js';
import { runAccuracyCell } from './cells/accuracy-cell.js';
import { failedCell, skippedCell } from './cells/common.js';
import { openOrtModel, ortProvider, runOrtInferCell, runTfjsInferCell } from './cells/infer-cell.js';
import { runParallelTrainCell } from './cells/parallel-train-cell.js';
import { runTrainCell } from './cells/train-cell.js';
import { loadMnistPair } from './data.js';
import { machineDescription as datasetsMachine, runDatasetBenchmarks } from './datasets-bench.js';
import { captureEnvironment, finishEnvironment } from './env.js';
import { machineDescription as onnxMachine, runOnnxBenchmarks } from './onnx-bench.js';
import type { AccuracyBudget, Profile, Timing } from './profiles.js';
import {
  describeBlas,
  findTorch,
  PUBLISHED,
  PUBLISHED_MACHINE,
  pytorchSkipped,
  runPytorchCells,
  torchThreadCounts,
} from './pytorch.js';
import {
  type AccuracyResult,
  type BenchBackend,
  type BenchResult,
  type CellResult,
  ORT_BACKENDS,
  type OrtBackend,
  PARALLEL_BACKEND,
  PARALLEL_WORKERS,
  PYTORCH_BACKEND,
  RESULT_FORMAT,
  RESULT_VERSION,
  TFJS_BACKENDS,
  type TfjsBackend,
} from './types.js';
import { variantSpec } from './variants.js';

/** What to run: the profile and the command line's filters. */
export interface RunPlan {
  profile: Profile;
  models: string[];
  backends: BenchBackend[];
  /** `--batch-sizes`: replaces both lists (and the profile's per-model batch lists). */
  batchSizes?: number[];
  tasks: Task[];
}

/** Progress lines go here (stderr in the CLI, so stdout ends with the table). */
export type Log = (line: string) => void;

function describeBackend(info: BackendInfo): string {
  const parts = [`active (tf backend '${info.tfBackend}')`];
  if (info.threads !== undefined) parts.push(`${info.threads} thread${info.threads === 1 ? '' : 's'}`);
  if (info.wasmSimd !== undefined) parts.push(info.wasmSimd ? 'SIMD' : 'no SIMD');
  if (info.kernelThreads !== undefined) {
    parts.push(`SIMD training kernels on ${info.kernelThreads} thread${info.kernelThreads === 1 ? '' : 's'}`);
  }
  if (info.kernels?.length) parts.push(`training kernels: ${info.kernels.join(', ')}`);
  return parts.join(', ');
}

function fmtCell(c: CellResult): string {
  if (c.status !== 'ok') return `${c.id}: ${c.status} (${c.reason})`;
  return `${c.id}: ${Math.round(c.samplesPerSec ?? 0).toLocaleString('en-US')} samples/s ±${(c.rme ?? 0).toFixed(1)}% (${c.iterations} it)`;
}

/** Runs the matrix and returns the results (nothing is written here). */
export async function runBenchmark(plan: RunPlan, log: Log): Promise<BenchResult> {
  const t0 = performance.now();
  const { profile } = plan;
  const env = captureEnvironment();
  const data = await loadMnistPair();
  const specs = new Map<string, ModelSpec>(plan.models.map((m) => [m, variantSpec(m)]));
  const want = (t: Task): boolean => plan.tasks.includes(t);
  const trainBatches = (model: string): number[] =>
    !want('train')
      ? []
      : (plan.batchSizes ?? profile.overrides[model]?.trainBatchSizes ?? profile.trainBatchSizes);
  const inferBatches = (model: string): number[] =>
    !want('infer')
      ? []
      : (plan.batchSizes ?? profile.overrides[model]?.inferBatchSizes ?? profile.inferBatchSizes);
  const skipReason = (model: string, backend: BenchBackend): string | undefined =>
    profile.skipBackends[backend] ?? profile.overrides[model]?.skipBackends?.[backend];
  const timing = (backend: BenchBackend, task: 'train' | 'infer'): Timing =>
    profile.backendTiming[backend]?.[task] ?? profile[task];
  const cells: CellResult[] = [];
  const push = (c: CellResult): void => {
    cells.push(c);
    log(fmtCell(c));
  };
  const skipAll = (backend: BenchBackend, reason: string): void => {
    const trains = !(ORT_BACKENDS as readonly string[]).includes(backend);
    const infers = backend !== PARALLEL_BACKEND;
    for (const model of plan.models) {
      if (trains)
        for (const b of trainBatches(model)) cells.push(skippedCell('train', model, backend, b, reason));
      if (infers)
        for (const b of inferBatches(model)) cells.push(skippedCell('infer', model, backend, b, reason));
    }
    log(`${backend}: skipped (${reason})`);
  };
  const notes: string[] = [];

  // ---- TensorFlow.js backends -----------------------------------------------------------------
  const workingTfjs: TfjsBackend[] = [];
  for (const backend of TFJS_BACKENDS) {
    if (!plan.backends.includes(backend)) continue;
    const whole = profile.skipBackends[backend];
    let info: BackendInfo | undefined;
    try {
      info = await useBackend(backend);
      env.backends[backend] = describeBackend(info);
      workingTfjs.push(backend);
    } catch (err) {
      const reason = `not available: ${err instanceof Error ? err.message : String(err)}`;
      env.backends[backend] = reason;
      if (want('train') || want('infer')) skipAll(backend, reason);
      continue;
    }
    if (!want('train') && !want('infer')) continue;
    if (whole) {
      skipAll(backend, whole);
      continue;
    }
    log(`${backend}: ${env.backends[backend]}`);
    for (const model of plan.models) {
      const spec = specs.get(model)!;
      const skip = skipReason(model, backend);
      for (const batch of trainBatches(model)) {
        if (skip) push(skippedCell('train', model, backend, batch, skip));
        else {
          const ctx = { model, spec, backend, batch, timing: timing(backend, 'train'), data };
          push(await runTrainCell(ctx).catch((e) => failedCell('train', model, backend, batch, e)));
        }
      }
      for (const batch of inferBatches(model)) {
        if (skip) push(skippedCell('infer', model, backend, batch, skip));
        else {
          const ctx = { model, spec, backend, batch, timing: timing(backend, 'infer'), data };
          push(await runTfjsInferCell(ctx).catch((e) => failedCell('infer', model, backend, batch, e)));
        }
      }
    }
    const left = tf.memory().numTensors;
    if (left > 0) notes.push(`${backend}: ${left} tensors were still allocated after its cells`);
  }

  // ---- data-parallel training: fit with worker threads on wasm --------------------------------
  if (plan.backends.includes(PARALLEL_BACKEND) && want('train')) {
    const whole = profile.skipBackends[PARALLEL_BACKEND];
    let ready: string | undefined;
    try {
      const info = await useBackend('wasm');
      env.backends[PARALLEL_BACKEND] =
        `fit with ${PARALLEL_WORKERS} workers (worker_threads, the main thread counts; each runs the SIMD kernels on 1 thread); main thread: ${describeBackend(info)}`;
    } catch (err) {
      ready = `not available: ${err instanceof Error ? err.message : String(err)}`;
      env.backends[PARALLEL_BACKEND] = ready;
    }
    if (ready) skipAll(PARALLEL_BACKEND, ready);
    else if (whole) skipAll(PARALLEL_BACKEND, whole);
    else {
      log(`${PARALLEL_BACKEND}: ${env.backends[PARALLEL_BACKEND]}`);
      const picked = profile.parallel.models;
      for (const model of plan.models) {
        const skip =
          skipReason(model, PARALLEL_BACKEND) ??
          (picked && !picked.includes(model)
            ? `${profile.name} profile measures ${PARALLEL_BACKEND} on ${picked.join(', ')} only (run --profile full)`
            : undefined);
        const budget = { ...profile.parallel, ...profile.overrides[model]?.parallel };
        for (const batch of trainBatches(model)) {
          if (skip) push(skippedCell('train', model, PARALLEL_BACKEND, batch, skip));
          else {
            const ctx = { model, spec: specs.get(model)!, batch, budget, data };
            push(
              await runParallelTrainCell(ctx).catch((e) =>
                failedCell('train', model, PARALLEL_BACKEND, batch, e),
              ),
            );
          }
        }
      }
      notes.push(
        `${PARALLEL_BACKEND}: \`fit(..., { workers: ${PARALLEL_WORKERS} })\` on wasm, Adam, on the first ${profile.parallel.batchesPerEpoch} batches of MNIST training images: ${profile.parallel.warmupEpochs ?? 1} warm-up epoch(s), then ${profile.parallel.measuredEpochs} measured epochs; samples/s is the mean of the measured epochs (training steps only, as fit counts them) and its margin is half the range of the epochs' samples/s as a percentage of the mean (not a 95 % interval)`,
      );
    }
  }

  // ---- onnxruntime-node execution providers ---------------------------------------------------
  const supported = ort.listSupportedBackends();
  const workingOrt: OrtBackend[] = [];
  for (const backend of ORT_BACKENDS) {
    if (!plan.backends.includes(backend) && !(backend === 'ort-cpu' && want('accuracy'))) continue;
    const ep = ortProvider(backend);
    const listed = supported.find((s) => s.name === ep);
    try {
      if (!listed) throw new Error(`onnxruntime-node ${ort.env.versions.node ?? ''} does not list '${ep}'`);
      const probe = await openOrtModel({ spec: variantSpec('lenet5') }, backend);
      await probe.classifier.dispose();
      env.onnxProviders[ep] =
        `used (onnxruntime-node ${ort.env.versions.node ?? '?'}${listed.bundled ? '' : ', provider installed separately'})`;
      workingOrt.push(backend);
    } catch (err) {
      const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
      const reason =
        ep === 'cuda'
          ? `CUDA execution provider not available (needs CUDA 12 + cuDNN 9 and the provider onnxruntime-node downloads at install; see docs/gpu.md): ${msg}`
          : `not available: ${msg}`;
      env.onnxProviders[ep] = reason;
      if (plan.backends.includes(backend) && want('infer')) skipAll(backend, reason);
      continue;
    }
    if (!plan.backends.includes(backend) || !want('infer')) continue;
    log(`${backend}: ${env.onnxProviders[ep]}`);
    for (const model of plan.models) {
      const spec = specs.get(model)!;
      const skip = skipReason(model, backend);
      for (const batch of inferBatches(model)) {
        if (skip) push(skippedCell('infer', model, backend, batch, skip));
        else {
          const ctx = { model, spec, backend, batch, timing: timing(backend, 'infer'), data };
          push(await runOrtInferCell(ctx).catch((e) => failedCell('infer', model, backend, batch, e)));
        }
      }
    }
  }

  // ---- PyTorch reference ------------------------------------------------------------------------
  let reference: BenchResult['reference'] = { kind: 'none', note: 'pytorch-cpu was not asked for' };
  if (plan.backends.includes(PYTORCH_BACKEND) && (want('train') || want('infer'))) {
    const torch = await findTorch();
    if (!torch.ok) {
      env.pytorch = torch.reason;
      for (const model of plan.models) {
        cells.push(...pytorchSkipped(model, trainBatches(model), inferBatches(model), torch.reason));
      }
      log(`${PYTORCH_BACKEND}: skipped (${torch.reason})`);
    } else {
      env.pytorch = `torch ${torch.torch} via ${torch.python}, ${describeBlas(torch.blas)}, measured with ${torchThreadCounts().join(' and ')} thread(s) (BLAS itself on 1), each cell keeps the faster`;
      log(`${PYTORCH_BACKEND}: ${env.pytorch}`);
      for (const model of plan.models) {
        const out = await runPytorchCells(
          torch.python,
          model,
          specs.get(model)!,
          trainBatches(model),
          inferBatches(model),
          profile.pytorch,
        );
        for (const c of out) push(c);
      }
    }
    const measured = cells.some((c) => c.backend === PYTORCH_BACKEND && c.status === 'ok');
    reference = measured
      ? { kind: 'measured', note: `ratios are to PyTorch CPU (${env.pytorch}) measured in this run` }
      : {
          kind: 'published',
          note: `PyTorch not measured (${env.pytorch}): ratios are to the issue's published figures, measured on ${PUBLISHED_MACHINE}, not on this machine`,
          published: PUBLISHED,
        };
  }

  // ---- accuracy ---------------------------------------------------------------------------------
  const accuracy: AccuracyResult[] = [];
  if (want('accuracy')) {
    const tfBackend = workingTfjs[0];
    const ortBackend = workingOrt.includes('ort-cuda') ? 'ort-cuda' : 'ort-cpu';
    for (const model of plan.models) {
      const o = profile.overrides[model]?.accuracy;
      const budget: AccuracyBudget | undefined = o && 'skip' in o ? undefined : (o ?? profile.accuracy);
      let r: AccuracyResult;
      if (!budget) r = { model, status: 'skipped', reason: (o as { skip: string }).skip };
      else if (!tfBackend) r = { model, status: 'skipped', reason: 'no TensorFlow.js backend available' };
      else if (!workingOrt.includes(ortBackend)) {
        r = { model, status: 'skipped', reason: `onnxruntime-node ${ortBackend} not available` };
      } else {
        if (tf.getBackend() !== (tfBackend.startsWith('tensorflow') ? 'tensorflow' : tfBackend)) {
          await useBackend(tfBackend);
        }
        log(
          `accuracy/${model}: training ${budget.epochs} epoch(s) on ${budget.trainSamples} images (${tfBackend})…`,
        );
        try {
          r = await runAccuracyCell({
            model,
            spec: specs.get(model)!,
            budget,
            data,
            backend: tfBackend,
            ortBackend,
          });
        } catch (err) {
          r = {
            model,
            status: 'failed',
            reason: err instanceof Error ? err.message.split('\n')[0] : String(err),
          };
        }
      }
      accuracy.push(r);
      log(
        r.status === 'ok'
          ? `accuracy/${model}: tfjs ${(r.tfjsAccuracy! * 100).toFixed(2)}%, onnx ${(r.onnxAccuracy! * 100).toFixed(2)}% (${r.budget!.seconds.toFixed(0)} s)`
          : `accuracy/${model}: ${r.status} (${r.reason})`,
      );
    }
  }

  // ---- extra suites (datasets-bench.ts and onnx-bench.ts, written with their packages) ----------
  const extras: NonNullable<BenchResult['extras']> = {};
  if (want('datasets')) {
    log('datasets: MNIST loading, batching and image-folder decoding (datasets-bench)…');
    try {
      extras.datasets = {
        status: 'ok',
        machine: datasetsMachine(),
        result: await runDatasetBenchmarks({ timeMs: profile.extrasTimeMs }),
      };
    } catch (err) {
      extras.datasets = { status: 'failed', reason: err instanceof Error ? err.message : String(err) };
      log(`datasets: failed (${extras.datasets.reason})`);
    }
  }
  if (want('onnx-threads')) {
    log('onnx-threads: onnxruntime at 1 and 2 intra-op threads against TensorFlow.js, lenet5 (onnx-bench)…');
    try {
      extras.onnxThreads = {
        status: 'ok',
        machine: onnxMachine(),
        result: await runOnnxBenchmarks({ preset: 'lenet5', timeMs: profile.extrasTimeMs }),
      };
    } catch (err) {
      extras.onnxThreads = { status: 'failed', reason: err instanceof Error ? err.message : String(err) };
      log(`onnx-threads: failed (${extras.onnxThreads.reason})`);
    }
  }

  if (specs.has('vgg-cifar10')) {
    notes.push(
      'vgg-cifar10 is fed MNIST zero-padded to 32x32 with the grey channel repeated to 3 (no CIFAR-10 copy on this machine; speed does not depend on the pixels)',
    );
  }
  notes.push(
    `profile '${profile.name}': train cells ≥ ${profile.train.iterations} iterations / ${profile.train.timeMs} ms after ${profile.train.warmupIterations} warm-up (and ≥ ${profile.train.warmupTimeMs ?? 0} ms); infer cells ≥ ${profile.infer.iterations} / ${profile.infer.timeMs} ms after ${profile.infer.warmupIterations} (and ≥ ${profile.infer.warmupTimeMs ?? 0} ms)`,
  );
  finishEnvironment(env);
  const busy = Math.max(...env.loadAverageStart.slice(0, 1), ...(env.loadAverageEnd ?? []).slice(0, 1));
  if (busy > env.cores) {
    notes.push(
      `the machine was busy: 1-minute load average ${env.loadAverageStart[0]} at start, ${env.loadAverageEnd?.[0]} at end, on ${env.cores} cores — other processes shared the CPU, so absolute numbers are low and noisy`,
    );
  }
  return {
    format: RESULT_FORMAT,
    version: RESULT_VERSION,
    options: {
      profile: profile.name,
      models: plan.models,
      backends: plan.backends,
      trainBatchSizes: plan.batchSizes ?? profile.trainBatchSizes,
      inferBatchSizes: plan.batchSizes ?? profile.inferBatchSizes,
    },
    env,
    cells,
    accuracy,
    reference,
    ...(Object.keys(extras).length > 0 ? { extras } : {}),
    notes,
    durationSec: Math.round((performance.now() - t0) / 100) / 10,
  };
}
