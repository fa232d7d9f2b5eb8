import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { overrideWasmKernelThreads, type WasmKernelThreadsOverride } from '@lenet/backend';
import type { Batch } from '@lenet/datasets';
import type { ModelSpec } from '@lenet/models';
import { TrainError } from '../errors.js';
import type { StepRunner } from '../step.js';
import * as tf from '../tfjs.js';
import type { GradsReply, ReadyReply, ShardPath, StepRequest, WorkerInit, WorkerReply } from './protocol.js';
import {
  netShardGradients,
  type ShardStats,
  shardGradients,
  shardRanges,
  sizeOf,
  writeFrom,
} from './shard-step.js';

/** Milliseconds spent per phase of the parallel steps so far (main thread's view). */
export interface ParallelPhaseTimes {
  steps: number;
  /** Copying the main model's weights into the shared buffer. */
  publish: number;
  /** Computing shard 0 on the main thread (workers run meanwhile). */
  mainShard: number;
  /** Waiting for the workers after shard 0 was done. */
  wait: number;
  /** Averaging, the optimizer update and the statistics. */
  update: number;
}

/** What {@link ParallelTrainer.start} needs from `fit`. */
export interface ParallelTrainerOptions {
  /** The training step of the main model: its optimizer, clipping, loss, dropout seeds and sums. */
  trainStep: StepRunner;
  spec: ModelSpec;
  /** Threads computing gradients, the main thread included (≥ 2). */
  workers: number;
}

/** The worker script: next to this module once built; from `dist` when running from sources. */
export function workerScript(): URL {
  const candidates = [
    new URL('./worker.js', import.meta.url),
    new URL('../../dist/parallel/worker.js', import.meta.url),
  ];
  for (const url of candidates) if (existsSync(fileURLToPath(url))) return url;
  throw new TrainError(
    'workers',
    `the gradient worker script is missing (looked for ${candidates.map((u) => fileURLToPath(u)).join(', ')}): build @lenet/train first (pnpm turbo run build --filter=@lenet/train)`,
  );
}

/** The `useBackend` name for the active tfjs backend. */
function backendName(): string {
  const name = tf.getBackend();
  if (name === 'wasm' || name === 'cpu' || name === 'tensorflow') return name;
  throw new TrainError('workers', `data-parallel training runs on wasm, cpu or tensorflow, not on '${name}'`);
}

/** The code of the process warning {@link slowWorkersWarning} gives rise to (once per process). */
export const SLOW_WORKERS_WARNING = 'LENET_WORKERS_SLOWER';

/**
 * Why `workers` threads may be slower than one, or null. With the compiled step, one thread
 * already spreads its big kernels over every core (kernel helper threads), and each data-parallel
 * step adds a fixed cost (messages, the gradient average, waiting for the slower shard). Measured
 * on 2 cores (round 6, docs/performance.md, load 5-6): 2 workers gave 0.7-1.7x of one for lenet5,
 * lenet5-classic and torch-bn, but 0.56-0.96x for mlp2, whose steps take a few ms. More cores than
 * workers were not measured: no warning there.
 */
export function slowWorkersWarning(workers: number, cores: number, compiled: boolean): string | null {
  if (workers < 2 || !compiled || cores > workers) return null;
  return `workers: ${workers} on ${cores} cores can be slower than workers: 1 with the compiled training step (measured 0.56-1.7x on 2 cores; slower for models whose steps take a few ms, such as mlp2): one thread already uses every core for its big kernels. Measure both on this machine.`;
}

let warned = false;

let liveWorkers = 0;

/** Gradient worker threads of this module now alive (0 once every training run has ended). */
export function activeGradientWorkers(): number {
  return liveWorkers;
}

interface Pending<T> {
  resolve: (reply: T) => void;
  reject: (error: Error) => void;
}

/** One gradient worker thread and the reply it owes. */
class GradientWorker {
  readonly worker: Worker;
  pending: Pending<GradsReply> | null = null;
  failure: Error | null = null;
  exited = false;
  /** Set when the trainer terminates the worker on purpose. */
  closing = false;
  private readyWait: Pending<ReadyReply> | null = null;
  readyReply: ReadyReply | null = null;
  /** The worker's results of its last step (shared with it). */
  readonly grads: Float32Array;
  /** The shard inputs, shared with the worker and grown when a shard needs more. */
  private x = new Float32Array(new SharedArrayBuffer(0));
  private y = new Int32Array(new SharedArrayBuffer(0));

  constructor(
    readonly index: number,
    init: WorkerInit,
  ) {
    this.grads = new Float32Array(init.grads);
    this.worker = new Worker(workerScript(), { workerData: init });
    liveWorkers++;
    this.worker.on('message', (msg: WorkerReply) => this.onMessage(msg));
    this.worker.on('error', (err) =>
      this.fail(
        new TrainError('workers', `worker ${index} crashed: ${err.message}`, { cause: err, kind: 'failure' }),
      ),
    );
    this.worker.on('exit', (code) => {
      this.exited = true;
      liveWorkers--;
      if (!this.closing)
        this.fail(
          new TrainError('workers', `worker ${index} exited unexpectedly (code ${code})`, {
            kind: 'failure',
          }),
        );
    });
  }

  private onMessage(msg: WorkerReply): void {
    if (msg.type === 'ready') {
      this.readyReply = msg;
      const w = this.readyWait;
      this.readyWait = null;
      w?.resolve(msg);
    } else if (msg.type === 'error') {
      const where = msg.step === null ? 'while starting' : `at step ${msg.step}`;
      this.fail(
        new TrainError('workers', `worker ${this.index} failed ${where}: ${msg.message}`, {
          kind: 'failure',
        }),
      );
    } else {
      const p = this.pending;
      this.pending = null;
      p?.resolve(msg);
    }
  }

  private fail(error: Error): void {
    if (this.failure === null) this.failure = error;
    for (const p of [this.pending, this.readyWait]) p?.reject(this.failure);
    this.pending = null;
    this.readyWait = null;
  }

  ready(): Promise<ReadyReply> {
    if (this.readyReply) return Promise.resolve(this.readyReply);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.readyWait = { resolve, reject };
    });
  }

  /** Sends a step; `msg.x` and `msg.y` are copied into the buffers shared with the worker. */
  request(msg: StepRequest): Promise<GradsReply> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.x.length < msg.x.length) this.x = new Float32Array(new SharedArrayBuffer(msg.x.byteLength));
    if (this.y.length < msg.y.length) this.y = new Int32Array(new SharedArrayBuffer(msg.y.byteLength));
    const x = this.x.subarray(0, msg.x.length);
    const y = this.y.subarray(0, msg.y.length);
    x.set(msg.x);
    y.set(msg.y);
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.postMessage({ ...msg, x, y });
    });
  }
}

const sameShapes = (a: readonly (readonly number[])[], b: readonly (readonly number[])[]): boolean =>
  a.length === b.length && a.every((s, i) => s.length === b[i].length && s.every((d, j) => d === b[i][j]));

const showShapes = (shapes: readonly (readonly number[])[]): string => shapes.map((s) => `[${s}]`).join(' ');

/**
 * Synchronous data-parallel training steps: the main thread computes the gradients of the first
 * shard of each batch with its own model while `workers − 1` worker threads (each with its own
 * backend instance and model copy built from the spec) compute the others; the main thread then
 * averages them weighted by shard size, applies the optimizer, and publishes the new weights in
 * one SharedArrayBuffer that every worker reads at the start of the next step.
 *
 * Batch-norm moving statistics: each shard updates them from its own samples; the main thread
 * keeps the shard-size-weighted average. The moving mean is then exactly the one of the whole
 * batch; the moving variance averages the per-shard variances (it misses the spread between
 * shard means). Normalisation in the forward pass uses per-shard statistics (as PyTorch DDP
 * without SyncBatchNorm).
 */
export class ParallelTrainer {
  private readonly weights: Float32Array;
  private readonly trainableSize: number;
  private readonly total: number;
  private readonly mainGrads: Float32Array;
  private readonly avg: Float32Array;
  private workerPaths: ShardPath[] = [];
  /**
   * Per variable (trainable, then non-trainable): the data id whose values the shared buffer
   * holds, or undefined. Any change through TF.js (an assign by a callback, a resume, the
   * optimizer) gives a variable a new data id, so {@link publish} copies only what changed since
   * the last compiled update wrote its new values there directly.
   */
  private published: unknown[] = [];
  /** Time per phase, summed over the steps so far. */
  readonly times: ParallelPhaseTimes = { steps: 0, publish: 0, mainShard: 0, wait: 0, update: 0 };
  private closed = false;
  /** The wasm kernels' thread count from before training, put back by dispose. */
  private kernelThreads: WasmKernelThreadsOverride | undefined;

  private constructor(
    private readonly o: ParallelTrainerOptions,
    private readonly pool: GradientWorker[],
    buffer: SharedArrayBuffer,
  ) {
    this.weights = new Float32Array(buffer);
    this.trainableSize = sizeOf(o.trainStep.vars.trainable);
    this.total = this.weights.length;
    this.mainGrads = new Float32Array(this.total);
    this.avg = new Float32Array(this.total);
  }

  /** Starts `workers − 1` threads and waits until each has built its model and checked its shapes. */
  static async start(o: ParallelTrainerOptions): Promise<ParallelTrainer> {
    if (!Number.isInteger(o.workers) || o.workers < 2) {
      throw new TrainError('workers', `ParallelTrainer needs at least 2 workers, got ${o.workers}`);
    }
    const backend = backendName();
    const warning = slowWorkersWarning(o.workers, availableParallelism(), o.trainStep.compiled !== null);
    if (warning !== null && !warned) {
      warned = true;
      process.emitWarning(warning, { code: SLOW_WORKERS_WARNING });
    }
    const { vars } = o.trainStep;
    const total = sizeOf(vars.trainable) + sizeOf(vars.nonTrainable);
    const buffer = new SharedArrayBuffer(total * 4);
    const pool: GradientWorker[] = [];
    const trainer = new ParallelTrainer(o, pool, buffer);
    // The workers use every core between them: the main thread's kernels stay on one thread.
    trainer.kernelThreads = await overrideWasmKernelThreads(1);
    try {
      for (let i = 1; i < o.workers; i++) {
        pool.push(
          new GradientWorker(i, {
            index: i,
            spec: o.spec,
            backend,
            weights: buffer,
            grads: new SharedArrayBuffer(total * 4),
            ce: o.trainStep.ce,
            compiled: o.trainStep.compiled !== null,
          }),
        );
      }
      const replies = await Promise.all(pool.map((w) => w.ready()));
      trainer.workerPaths = replies.map((r) => r.path);
      const trainable = vars.trainable.map((v) => v.shape);
      const nonTrainable = vars.nonTrainable.map((v) => v.shape);
      for (const r of replies) {
        if (!sameShapes(r.trainable, trainable) || !sameShapes(r.nonTrainable, nonTrainable)) {
          throw new TrainError(
            'spec',
            `options.spec does not describe the model being trained: the model built from it has weights ${showShapes(r.trainable)} / ${showShapes(r.nonTrainable)}, the model has ${showShapes(trainable)} / ${showShapes(nonTrainable)}`,
          );
        }
      }
    } catch (error) {
      await trainer.dispose();
      throw error;
    }
    return trainer;
  }

  /** Thread ids of the worker threads (for tests and logs). */
  get threadIds(): number[] {
    return this.pool.map((w) => w.worker.threadId);
  }

  /**
   * How each shard's gradients are computed, shard 0 (the main thread, as its training step
   * runs) first: compiled wherever the single-thread step would be.
   */
  get paths(): ShardPath[] {
    return [this.o.trainStep.path, ...this.workerPaths];
  }

  /** Worker threads still running. */
  get running(): number {
    return this.pool.filter((w) => !w.exited).length;
  }

  /** One synchronous data-parallel step over `batch` at learning rate `lr`; `step` seeds dropout. */
  async step(batch: Batch, lr: number, step: number): Promise<void> {
    const n = batch.y.length;
    const [, h, w, c] = batch.shape;
    const pixels = h * w * c;
    const t0 = performance.now();
    const runner = this.o.trainStep;
    const { vars } = runner;
    this.publish();
    const ranges = shardRanges(n, this.pool.length + 1);
    const replies = this.pool.map((worker, k) => {
      const [start, end] = ranges[k + 1];
      if (end <= start) return null;
      return worker.request({
        type: 'step',
        step,
        x: batch.x.subarray(start * pixels, end * pixels),
        y: batch.y.subarray(start, end),
        shape: [end - start, h, w, c],
        dropoutSeeds: runner.dropoutSeeds(step, k + 1),
      });
    });
    const t1 = performance.now();
    // Shard 0 on this thread, while the workers compute theirs.
    const [s0, e0] = ranges[0];
    let main: ShardStats | null = null;
    let mainError: unknown = null;
    // Asked at every step, as the single-thread step does: the backend may have been switched.
    const compiled = runner.compiled?.usable() ? runner.compiled : null;
    if (e0 > s0) {
      try {
        const shard: Batch = {
          x: batch.x.subarray(s0 * pixels, e0 * pixels),
          y: batch.y.subarray(s0, e0),
          shape: [e0 - s0, h, w, c],
        };
        if (compiled) {
          const seeds = runner.dropoutSeeds(step, 0);
          main = netShardGradients(compiled.net, vars.nonTrainable, shard, seeds, runner.ce, this.mainGrads);
        } else {
          runner.seedDropout(step, 0);
          main = shardGradients(runner.model, vars, shard, runner.ce, this.mainGrads);
        }
      } catch (error) {
        mainError = error;
      }
    }
    const t2 = performance.now();
    const settled = await Promise.allSettled(replies.map((r) => r ?? Promise.resolve(null)));
    if (mainError !== null) throw mainError;
    for (const s of settled) if (s.status === 'rejected') throw s.reason;

    const t3 = performance.now();
    // Average gradients and non-trainable weights, weighted by shard size.
    const { avg } = this;
    avg.fill(0);
    let lossSum = 0;
    let correct = 0;
    let outputSum = 0;
    const add = (
      data: Float32Array,
      count: number,
      stats: { loss: number; correct: number; outputSum: number },
    ) => {
      const wgt = count / n;
      for (let j = 0; j < avg.length; j++) avg[j] += wgt * data[j];
      lossSum += stats.loss * count;
      correct += stats.correct;
      outputSum += stats.outputSum;
    };
    if (main) add(this.mainGrads, e0 - s0, main);
    settled.forEach((s, k) => {
      if (s.status === 'fulfilled' && s.value) {
        const [start, end] = ranges[k + 1];
        add(this.pool[k].grads, end - start, s.value);
      }
    });
    let off = 0;
    const grads = vars.trainable.map((v) => {
      off += v.size;
      return avg.subarray(off - v.size, off);
    });
    if (compiled && main) {
      // The compiled step's host update (it needs the net's backward pass of this step: shard 0's),
      // which hands over the new weights for the next step's broadcast.
      compiled.applyGradients(grads, lr, (next) => {
        let at = 0;
        for (const w of next) {
          this.weights.set(w, at);
          at += w.length;
        }
      });
      runner.sums.addOnHost(lossSum, outputSum, correct, step);
    } else {
      tf.tidy(() => {
        runner.update(
          grads.map((g, i) => tf.tensor(g, vars.trainable[i].shape, 'float32')),
          lr,
        );
        runner.sums.addOnHost(lossSum, outputSum, correct, step);
      });
    }
    writeFrom(vars.nonTrainable, avg, this.trainableSize);
    if (compiled && main) {
      this.weights.set(avg.subarray(this.trainableSize), this.trainableSize);
      this.published = [...vars.trainable, ...vars.nonTrainable].map((v) => v.dataId);
    } else {
      this.published = [];
    }
    const t4 = performance.now();
    this.times.steps++;
    this.times.publish += t1 - t0;
    this.times.mainShard += t2 - t1;
    this.times.wait += t3 - t2;
    this.times.update += t4 - t3;
  }

  /** Copies the main model's weights that changed since the buffer last got them into it. */
  private publish(): void {
    const { trainable, nonTrainable } = this.o.trainStep.vars;
    let off = 0;
    [...trainable, ...nonTrainable].forEach((v, i) => {
      if (this.published[i] !== v.dataId) this.weights.set(v.dataSync() as Float32Array, off);
      off += v.size;
    });
  }

  /** Terminates every worker thread (idempotent) and waits for them to exit. */
  async dispose(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.kernelThreads?.restore();
    await Promise.all(
      this.pool.map(async (w) => {
        w.closing = true;
        if (!w.exited) await w.worker.terminate();
      }),
    );
  }
}
