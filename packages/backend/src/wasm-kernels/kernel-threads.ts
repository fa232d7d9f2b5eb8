import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import { BackendError } from '../errors.js';
import { kernelBuild, kernelModuleBytes, relaxedSimdAvailable, SHARED_MAX_PAGES } from './kernel-module.js';
import type { SimdExports } from './simd.js';

/** The part of the WebAssembly global used here (this package compiles without the DOM lib). */
interface SharedMemory {
  readonly buffer: SharedArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: object };
  Memory: new (descriptor: { initial: number; maximum: number; shared: boolean }) => SharedMemory;
}
const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

const PAGE = 65536;
/**
 * Int32 slots of one helper's control block: state, function, argument count, error, done, and
 * how long (µs) the helper polls for its next call before it sleeps, the kernels' build to run
 * (kernel-module.ts: the calling thread's, so that both shares of a call round alike), and the
 * memory the call's offsets point into (0: the threads' own; others: adopted, see `adopt`).
 */
const CTL = {
  state: 0,
  fn: 1,
  argc: 2,
  error: 3,
  done: 4,
  spinMicros: 5,
  build: 6,
  memory: 7,
  hold: 8,
} as const;
const CTL_INTS = 16;
const MAX_ARGS = 24;
const IDLE = 0;
const RUN = 1;
const STOP = 2;
/** A helper has taken the call given (RUN → CLAIMED): from then on only it runs that share. */
const CLAIMED = 3;
/**
 * How long (µs) a helper polls for its next call before it sleeps in Atomics.wait. Waking a
 * sleeping helper costs ~30 µs, ~100 µs once its core has idled for a millisecond on the AMD EPYC
 * of rounds 5–12 — and 840 µs on a 2-vCPU Intel Xeon KVM guest (split-sync.mjs), where a vCPU
 * that halts is rescheduled by the host. The gaps between a step's split calls are 0.1–3 ms.
 * Polling 3 ms here and in the calling thread's wait (`waitSpinMicros`), against the 600 µs and 0
 * before (ab-spin.mjs, interleaved, medians): LeNet-5 b64 8.1–11.9 → 5.9 ms a step,
 * lenet5-classic b64 7.7 → 7.0, keras-deep b64 50–55 → 41.6, torch-bn-nodropout b64 10.7–14.0 →
 * 8.1; at b256 −2 to −6 %. Bounded, so that an idle helper gives its core back soon after
 * training stops, and only while the runnable threads fit the cores (`pollAllowed`).
 */
let spinMicros = 3000;

/**
 * How long (µs) the calling thread polls for a helper to finish its share before it sleeps in
 * Atomics.wait (waking from which costs what a helper's wake does: see `spinMicros`). On its own
 * it did not pay (round 13, mixed); with the helper polling 3 ms too it does.
 */
let waitSpinMicros = 3000;

/**
 * Whether the threads may poll now. Polling threads that outnumber the cores starve the ones they
 * wait for: two trainings at once on 2 cores ran LeNet-5 b64 at 27 ms a step with 3 ms polls,
 * 8 ms with round 12's. So before a split call, at most every `POLL_CHECK_MS`, Linux's count of
 * runnable threads (/proc/loadavg, this thread and a polling helper included) is read: more than
 * the cores twice in a row, and neither side polls until a later read finds room (a read costs
 * ~26 µs). Elsewhere (no /proc) they poll.
 */
let pollAllowed = true;
let pollCheckedAt = Number.NEGATIVE_INFINITY;
let pollCheck = true;
const POLL_CHECK_MS = 50;
const cores = availableParallelism();

/** Consecutive reads that found more runnable threads than cores. */
let busyReads = 0;

function refreshPollAllowed(): void {
  const now = performance.now();
  if (now - pollCheckedAt < POLL_CHECK_MS) return;
  pollCheckedAt = now;
  busyReads = pollCheck && runnableSource() > cores ? busyReads + 1 : 0;
  // One busy read is often V8's own background threads (compiler, GC) for a moment: 16 % of the
  // reads in a bench's LeNet cells, with nothing else running. A competitor stays.
  pollAllowed = busyReads < 2;
}

/** Linux's runnable threads now (the 4th field of /proc/loadavg, "running/total"); 0 where unknown. */
function runnableThreads(): number {
  try {
    const fields = readFileSync('/proc/loadavg', 'latin1').split(' ');
    const running = Number.parseInt(fields[3] ?? '', 10);
    return Number.isFinite(running) ? running : 0;
  } catch {
    return 0;
  }
}

let runnableSource: () => number = runnableThreads;

/**
 * Replaces where the check reads the runnable threads (tests give a fake count); returns the
 * previous source (the /proc/loadavg reader by default). The next split call reads it at once.
 */
export function setRunnableThreadsSource(source: () => number): () => number {
  const previous = runnableSource;
  runnableSource = source;
  forgetPollReads();
  return previous;
}

/** Makes the next split call read the runnable threads afresh, with no busy read counted. */
function forgetPollReads(): void {
  pollCheckedAt = Number.NEGATIVE_INFINITY;
  busyReads = 0;
}

/** Whether the threads may poll now, as the last runnable-thread read left it. For tests. */
export function kernelPollAllowed(): boolean {
  return pollAllowed;
}

/** Turns the runnable-thread check off (always poll) or on; returns the previous setting. For A/B measurements. */
export function setKernelPollCheck(on: boolean): boolean {
  const previous = pollCheck;
  pollCheck = on;
  forgetPollReads();
  return previous;
}

/** Sets how long (µs, at most 10000) the calling thread polls before it sleeps waiting for a helper; returns the previous value. For A/B measurements. */
export function setKernelWaitSpin(micros: number): number {
  const previous = waitSpinMicros;
  waitSpinMicros = Math.max(0, Math.min(10_000, Math.round(micros)));
  return previous;
}

/** What the calling thread does while it waits for a helper (see {@link setKernelIdleWork}). */
let idleWork: (() => boolean) | null = null;

/**
 * Gives the calling thread work for the time it would sleep waiting for a helper thread to finish
 * its share of a split kernel (0.8 ms of a LeNet-5 b64 training step, 1.1 ms of torch-bn's, in
 * 4–8 waits): `work` does a small piece (a few µs: the wait ends only between pieces) and returns
 * whether more is left; it is called again until it returns false or the helper is done. It must
 * not touch the wasm heap or call a kernel. `null` (the default) sleeps. Returns the previous one.
 */
export function setKernelIdleWork(work: (() => boolean) | null): (() => boolean) | null {
  const previous = idleWork;
  idleWork = work;
  return previous;
}

/**
 * Sets how long (µs, at most 10000) a helper polls before it sleeps (see `spinMicros`); 0 sleeps
 * at once. Returns the previous value. For A/B measurements.
 */
export function setKernelThreadSpin(micros: number): number {
  const previous = spinMicros;
  spinMicros = Math.max(0, Math.min(10_000, Math.round(micros)));
  return previous;
}

/**
 * The helper thread's whole program (evaluated as CommonJS in a worker): sleep on the control
 * block, run the requested function of the requested build (the one current at start instantiated
 * on the shared memory first, another at its first call), signal done.
 * It never returns to its event loop while running, so it answers in microseconds.
 */
const WORKER_SOURCE = `
const { parentPort, workerData, receiveMessageOnPort } = require('node:worker_threads');
const { modules, build, memory, control, names, port } = workerData;
// Per memory index: the memory, and its instances per build (adopted memories arrive on port).
const memories = new Map([[0, { memory, builds: [] }]]);
const adopt = () => {
  for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) {
    const { index, memory } = m.message;
    if (memory === null) memories.delete(index);
    else memories.set(index, { memory, builds: [] });
  }
};
const kernels = (b, index) => {
  let m = memories.get(index);
  if (m === undefined) {
    adopt();
    m = memories.get(index);
  }
  return m.builds[b] ?? (m.builds[b] = new WebAssembly.Instance(modules[b], { env: { memory: m.memory } }).exports);
};
const ctl = new Int32Array(control, 0, ${CTL_INTS});
const args = new Float64Array(control, ${CTL_INTS * 4}, ${MAX_ARGS});
kernels(build, 0);
parentPort.postMessage('ready');
const poll = () => {
  const until = performance.now() + Atomics.load(ctl, ${CTL.spinMicros}) / 1000;
  while (Atomics.load(ctl, ${CTL.state}) === ${IDLE} && performance.now() < until);
};
for (;;) {
  poll();
  Atomics.wait(ctl, ${CTL.state}, ${IDLE});
  const state = Atomics.load(ctl, ${CTL.state});
  if (state === ${STOP}) break;
  if (state !== ${RUN}) continue;
  // Held (tests): leave the call to the calling thread's takeBack, for at most a second (a
  // calling thread that never takes it back is then waited for, not hung).
  if (Atomics.load(ctl, ${CTL.hold}) === 1) {
    const heldUntil = performance.now() + 1000;
    while (Atomics.load(ctl, ${CTL.hold}) === 1 && Atomics.load(ctl, ${CTL.state}) === ${RUN} && performance.now() < heldUntil);
  }
  // The calling thread may have taken the share back meanwhile: run it only once claimed.
  if (Atomics.compareExchange(ctl, ${CTL.state}, ${RUN}, ${CLAIMED}) !== ${RUN}) continue;
  let error = 0;
  try {
    kernels(ctl[${CTL.build}], ctl[${CTL.memory}])[names[ctl[${CTL.fn}]]](...Array.from(args.subarray(0, ctl[${CTL.argc}])));
  } catch (e) {
    error = 1;
  }
  ctl[${CTL.error}] = error;
  Atomics.store(ctl, ${CTL.state}, ${IDLE});
  Atomics.store(ctl, ${CTL.done}, 1);
  Atomics.notify(ctl, ${CTL.done});
}
`;

/** Names of the functions a helper may run (indices travel through the control block). */
const FUNCTIONS: ReadonlyArray<keyof SimdExports> = [
  'lenet_conv_forward',
  'lenet_conv_forward_pool2',
  'lenet_conv_input_grad',
  'lenet_conv_filter_grad',
  'lenet_gemm',
  'lenet_gemm_panels',
  'lenet_gemm_sparse_a',
  'lenet_gemm_sparse_at',
  'lenet_conv_wide',
  'lenet_conv_filter_grad_wide',
  'lenet_conv_winograd',
  'lenet_conv_filter_grad_winograd',
  'lenet_conv_filter_grad_pool2_arg',
  'lenet_conv_filter_grad_winograd_unpadded',
  'lenet_conv_winograd_interior',
  'lenet_conv_winograd_mixed',
  'lenet_conv_forward_pool2_full',
  'lenet_conv_backward_pool2_arg',
  'lenet_conv_forward_bias_act',
  'lenet_block_sums',
  'lenet_bn_grad_pool2_blocks',
  'lenet_batch_norm_pool2_arg_flag',
  'lenet_bn_dx_pool2',
];

/** Byte offset of the first resident block (the bytes before it stay unused, as before). */
const RESIDENT_START = 64;
/** Bytes the resident blocks may take in all. */
const RESIDENT_MAX_BYTES = 64 * 1024 * 1024;

/** One helper thread and its control block. */
interface Helper {
  worker: Worker;
  /** Where adopted memories are posted (the helper reads them synchronously when a call names one). */
  port: MessagePort;
  ctl: Int32Array;
  args: Float64Array;
  busy: boolean;
}

/**
 * Helper threads for the SIMD kernels: each runs the kernels module on a shared memory, so the
 * main thread can hand one of them part of a kernel (its share of the batch, copied in) and
 * compute its own share in tfjs's memory meanwhile. Used by the convolution and matrix kernels
 * when a call is big enough to pay for the copies.
 */
export class KernelThreads {
  private readonly memory: SharedMemory;
  private readonly helpers: Helper[] = [];
  private closed = false;
  /** Blocks kept in the shared memory across calls ({@link resident}), by owner. */
  private readonly residents = new Map<object, { at: number; floats: number; version: number }>();
  /** Byte offset past the resident blocks: where a call's own regions start. */
  private residentEnd = RESIDENT_START;
  /** The memory adopted last (tfjs's shared heap) and its index in the helpers' control blocks. */
  private adopted: { memory: object; index: number } | null = null;

  private constructor(count: number) {
    this.memory = new wasmApi.Memory({ initial: 16, maximum: SHARED_MAX_PAGES, shared: true });
    // The relaxed build too where it runs, so that switching builds needs no restart.
    const modules = [new wasmApi.Module(kernelModuleBytes(0, true))];
    if (relaxedSimdAvailable()) modules.push(new wasmApi.Module(kernelModuleBytes(1, true)));
    for (let i = 0; i < count; i++) {
      const control = new SharedArrayBuffer(CTL_INTS * 4 + MAX_ARGS * 8);
      const { port1, port2 } = new MessageChannel();
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: {
          modules,
          build: kernelBuild(),
          memory: this.memory,
          control,
          names: FUNCTIONS,
          port: port2,
        },
        transferList: [port2],
      });
      // An idle helper sleeps in Atomics.wait; it must not keep the process alive.
      worker.unref();
      port1.unref();
      this.helpers.push({
        worker,
        port: port1,
        ctl: new Int32Array(control, 0, CTL_INTS),
        args: new Float64Array(control, CTL_INTS * 4, MAX_ARGS),
        busy: false,
      });
    }
  }

  /** Starts `count` helper threads and waits until each has its kernels instantiated. */
  static async start(count: number): Promise<KernelThreads> {
    const threads = new KernelThreads(count);
    try {
      await Promise.all(
        threads.helpers.map(
          (h, i) =>
            new Promise<void>((resolve, reject) => {
              h.worker.once('message', () => resolve());
              h.worker.once('error', (e) =>
                reject(new BackendError(`kernel thread ${i + 1} failed to start: ${e.message}`, 'wasm')),
              );
            }),
        ),
      );
    } catch (error) {
      await threads.stop();
      throw error;
    }
    return threads;
  }

  /** Number of helper threads (the main thread not counted). */
  get count(): number {
    return this.helpers.length;
  }

  /** Float32 view of the shared memory (taken anew: growing replaces the buffer's length). */
  view(): Float32Array {
    return new Float32Array(this.memory.buffer);
  }

  /** Makes the shared memory at least `bytes` long (it only grows). */
  reserve(bytes: number): void {
    const have = this.memory.buffer.byteLength;
    if (bytes <= have) return;
    const pages = Math.ceil((bytes - have) / PAGE);
    if (have / PAGE + pages > SHARED_MAX_PAGES) {
      throw new BackendError(`kernel threads: ${bytes} bytes exceed the shared memory's 4 GiB`, 'wasm');
    }
    this.memory.grow(pages);
  }

  /** Byte offset in the shared memory past the resident blocks, where a call's regions may start. */
  get callStart(): number {
    return this.residentEnd;
  }

  /**
   * A block of `floats` floats in the shared memory that `owner` keeps from call to call (weights
   * every helper reads, such as packed dense panels): `fill(view, at)` copies them in first when
   * the block is new or `version` is not the one of the last fill. Returns its byte offset. The
   * blocks take at most {@link RESIDENT_MAX_BYTES}; past that all are forgotten and refilled on
   * their next use, so owners that are gone never hold memory for long.
   */
  resident(
    owner: object,
    version: number,
    floats: number,
    fill: (view: Float32Array, at: number) => void,
  ): number {
    let block = this.residents.get(owner);
    if (block === undefined || block.floats !== floats) {
      const bytes = Math.ceil((floats * 4) / 16) * 16 + 64;
      if (this.residentEnd + bytes > RESIDENT_START + RESIDENT_MAX_BYTES) this.forgetResidents();
      block = { at: this.residentEnd, floats, version: Number.NaN };
      this.residentEnd += bytes;
      this.residents.set(owner, block);
      this.reserve(this.residentEnd);
    }
    if (block.version !== version) {
      // Forgotten first: a fill that throws leaves nothing that looks current.
      block.version = Number.NaN;
      fill(this.view(), block.at);
      block.version = version;
    }
    return block.at;
  }

  /** Whether `owner`'s resident block of `floats` floats holds `version` (a call would not fill it). */
  residentCurrent(owner: object, version: number, floats: number): boolean {
    const block = this.residents.get(owner);
    return block !== undefined && block.floats === floats && block.version === version;
  }

  /** Forgets `owner`'s resident block (its space comes back when all are forgotten). */
  releaseResident(owner: object): void {
    this.residents.delete(owner);
  }

  /** Forgets every resident block (their owners' next use copies them in again). */
  forgetResidents(): void {
    this.residents.clear();
    this.residentEnd = RESIDENT_START;
  }

  /**
   * The index by which a call names `memory` (a shared `WebAssembly.Memory`: tfjs's heap), posting
   * it to the helpers when it is new. One memory is adopted at a time: adopting another makes the
   * helpers drop the previous one (a backend that was replaced), so an old heap is not kept alive.
   */
  adopt(memory: object): number {
    if (this.adopted?.memory === memory) return this.adopted.index;
    const index = (this.adopted?.index ?? 0) + 1;
    for (const h of this.helpers) {
      if (this.adopted !== null) h.port.postMessage({ index: this.adopted.index, memory: null });
      h.port.postMessage({ index, memory });
    }
    this.adopted = { memory, index };
    return index;
  }

  /**
   * Starts `fn(args)` on helper `index`: byte offsets into the threads' own shared memory, or into
   * the memory that {@link adopt} gave `memory` as its index.
   */
  run(index: number, fn: keyof SimdExports, args: readonly number[], memory = 0): void {
    const h = this.helpers[index];
    if (h === undefined || this.closed)
      throw new BackendError(`kernel thread ${index + 1} is not running`, 'wasm');
    if (h.busy) throw new BackendError(`kernel thread ${index + 1} is busy`, 'wasm');
    const fnIndex = FUNCTIONS.indexOf(fn);
    if (fnIndex < 0 || args.length > MAX_ARGS)
      throw new BackendError(`kernel threads cannot run ${fn}`, 'wasm');
    h.args.set(args);
    h.ctl[CTL.fn] = fnIndex;
    h.ctl[CTL.argc] = args.length;
    h.ctl[CTL.error] = 0;
    h.ctl[CTL.build] = kernelBuild();
    h.ctl[CTL.memory] = memory;
    if (index === 0) refreshPollAllowed();
    h.ctl[CTL.spinMicros] = pollAllowed ? spinMicros : 0;
    Atomics.store(h.ctl, CTL.done, 0);
    Atomics.store(h.ctl, CTL.state, RUN);
    Atomics.notify(h.ctl, CTL.state);
    h.busy = true;
  }

  /**
   * Takes back what `run` gave helper `index` if the helper has not started it yet (it is asleep
   * and slow to wake, or busy elsewhere): true when it did, and the calling thread must run that
   * share itself; false when the helper has it (then {@link wait}). A caller asks once its own
   * share is done: a helper that has not started by then would finish later than the caller can
   * by running the share itself. Waking a halted vCPU took 1–8 ms on a 2-vCPU AMD EPYC cloud VM
   * after the machine idled (a 0.3 ms validation pass then took up to 8 ms).
   */
  takeBack(index: number): boolean {
    const h = this.helpers[index];
    if (h === undefined || !h.busy) return false;
    if (Atomics.compareExchange(h.ctl, CTL.state, RUN, IDLE) !== RUN) return false;
    h.busy = false;
    takenBack++;
    return true;
  }

  /** Holds (true) or lets go the helpers' claiming of calls, for tests of {@link takeBack} (a held call waits at most 1 s). */
  holdHelpers(on: boolean): void {
    for (const h of this.helpers) Atomics.store(h.ctl, CTL.hold, on ? 1 : 0);
  }

  /** Waits until helper `index` has finished what `run` gave it, doing the idle work meanwhile. */
  wait(index: number): void {
    const h = this.helpers[index];
    if (h === undefined || !h.busy) return;
    const until = waitSpinMicros > 0 && pollAllowed ? performance.now() + waitSpinMicros / 1000 : 0;
    while (Atomics.load(h.ctl, CTL.done) === 0) {
      if (idleWork !== null) {
        let more: boolean;
        try {
          more = idleWork();
        } catch (error) {
          // The helper is still on its share: it must finish before the error leaves, or the
          // thread would stay busy and refuse every later kernel.
          while (Atomics.load(h.ctl, CTL.done) === 0) Atomics.wait(h.ctl, CTL.done, 0, 10_000);
          h.busy = false;
          throw error;
        }
        if (more) continue;
      }
      if (until > 0 && performance.now() < until) continue;
      Atomics.wait(h.ctl, CTL.done, 0, 10_000);
    }
    h.busy = false;
    if (h.ctl[CTL.error] !== 0)
      throw new BackendError(`kernel thread ${index + 1}: the kernel trapped`, 'wasm');
  }

  /** Stops every helper thread and waits for them to exit. Idempotent. */
  async stop(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(
      this.helpers.map(async (h) => {
        Atomics.store(h.ctl, CTL.state, STOP);
        Atomics.notify(h.ctl, CTL.state);
        await h.worker.terminate();
        h.port.close();
      }),
    );
  }
}

/** Shares taken back from helpers that had not started them ({@link KernelThreads.takeBack}). */
let takenBack = 0;

/** Helper shares the calling thread took back and ran itself so far (for tests and profiling). */
export function takenBackShares(): number {
  return takenBack;
}

let active: KernelThreads | undefined;
let starting: Promise<KernelThreads | undefined> | undefined;
/** Whether a thread count was chosen (by a call of {@link setWasmKernelThreads}). */
let configured = false;

/** The running helper threads, if any (the kernels use them when a call is big enough). */
export function kernelThreads(): KernelThreads | undefined {
  return active;
}

/**
 * Sets how many threads the wasm SIMD kernels use, the calling thread included: 1 turns the
 * helper threads off. Returns the number now in use. Default when the training kernels are
 * registered: the machine's cores (`os.availableParallelism()`), at most 4.
 */
export async function setWasmKernelThreads(threads: number): Promise<number> {
  if (!Number.isInteger(threads) || threads < 1) {
    throw new BackendError(`wasm kernel threads must be a positive integer, got ${threads}`, 'wasm');
  }
  configured = true;
  await starting;
  const helpers = threads - 1;
  if ((active?.count ?? 0) === helpers) return threads;
  const old = active;
  active = undefined;
  await old?.stop();
  if (helpers > 0) {
    starting = KernelThreads.start(helpers);
    try {
      active = await starting;
    } finally {
      starting = undefined;
    }
  }
  return threads;
}

/** Threads the kernels use now (the calling thread included). */
export function wasmKernelThreads(): number {
  return (active?.count ?? 0) + 1;
}

/** A thread count set for a while; {@link WasmKernelThreadsOverride.restore} puts the old one back. */
export interface WasmKernelThreadsOverride {
  /** Threads the kernels used before the override (the calling thread included). */
  readonly previous: number;
  /** Sets the thread count back to {@link previous}. Idempotent. */
  restore(): Promise<void>;
}

/**
 * Sets how many threads the wasm SIMD kernels use (as {@link setWasmKernelThreads}) until the
 * returned handle's `restore()`: for a caller that needs the cores for a while, such as
 * data-parallel training, whose worker threads use them all.
 */
export async function overrideWasmKernelThreads(threads: number): Promise<WasmKernelThreadsOverride> {
  const previous = wasmKernelThreads();
  await setWasmKernelThreads(threads);
  let restored = false;
  return {
    previous,
    async restore() {
      if (restored) return;
      restored = true;
      await setWasmKernelThreads(previous);
    },
  };
}

/** The default thread count: the machine's cores, at most 4. */
function defaultWasmKernelThreads(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}

/** Starts the default helper threads unless a thread count was set before. */
export async function startDefaultWasmKernelThreads(): Promise<void> {
  if (configured) return;
  try {
    await setWasmKernelThreads(defaultWasmKernelThreads());
  } catch {
    // A runtime without worker threads or shared wasm memory: the kernels stay on one thread.
    configured = true;
  }
}
