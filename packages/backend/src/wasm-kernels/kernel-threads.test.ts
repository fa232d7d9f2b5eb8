import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerWasmTrainingKernels } from '../register.js';
import { onBackend, randomArray, relativeError } from '../testing/helpers.js';
import * as tf from '../tfjs.js';
import { relaxedSimdEnabled, setRelaxedSimdEnabled } from './kernel-module.js';
import {
  kernelPollAllowed,
  kernelThreads,
  overrideWasmKernelThreads,
  setKernelIdleWork,
  setKernelPollCheck,
  setKernelThreadSpin,
  setKernelWaitSpin,
  setRunnableThreadsSource,
  setWasmKernelThreads,
  wasmKernelThreads,
} from './kernel-threads.js';
import { splitCalls } from './split.js';

/** Convolution and dense products big enough to be split between threads, with their gradients. */
function work(): tf.Tensor[] {
  const x = tf.tensor4d(randomArray(64 * 14 * 14 * 6, 1), [64, 14, 14, 6]);
  const w = tf.tensor4d(randomArray(5 * 5 * 6 * 16, 2), [5, 5, 6, 16]);
  const x1 = tf.tensor4d(randomArray(33 * 28 * 28, 3), [33, 28, 28, 1]); // odd batch: uneven shares
  const w1 = tf.tensor4d(randomArray(5 * 5 * 6, 4), [5, 5, 1, 6]);
  const a = tf.tensor2d(randomArray(129 * 800, 5), [129, 800]);
  const b = tf.tensor2d(randomArray(800 * 130, 6), [800, 130]);
  const bias = tf.tensor1d(randomArray(130, 7));
  const conv = (p: tf.Tensor, q: tf.Tensor) => tf.conv2d(p as tf.Tensor4D, q as tf.Tensor4D, 1, 'valid');
  const conv1 = (p: tf.Tensor, q: tf.Tensor) => tf.conv2d(p as tf.Tensor4D, q as tf.Tensor4D, 1, 'same');
  const y = conv(x, w);
  const y1 = conv1(x1, w1);
  const dense = tf.fused.matMul({ a, b, bias, activation: 'relu' });
  return [
    y,
    ...tf.grads(conv)([x, w], tf.tensor(randomArray(y.size, 8), y.shape)),
    y1,
    ...tf.grads(conv1)([x1, w1], tf.tensor(randomArray(y1.size, 9), y1.shape)),
    dense,
  ];
}

describe('the SIMD kernels split over helper threads', () => {
  beforeAll(async () => {
    await registerWasmTrainingKernels();
  });
  afterAll(async () => {
    await setWasmKernelThreads(1);
  });

  it('give the single-thread results (same sums, other order: within 1e-5)', async () => {
    await setWasmKernelThreads(1);
    expect(wasmKernelThreads()).toBe(1);
    const one = await onBackend('wasm', work);
    await setWasmKernelThreads(2);
    expect(wasmKernelThreads()).toBe(2);
    const before = tf.memory().numTensors;
    const splitsBefore = splitCalls();
    const two = await onBackend('wasm', work);
    expect(tf.memory().numTensors).toBe(before);
    // Two convolutions (each run again inside tf.grads), their input and filter gradients and
    // the dense product: 9 calls, each big enough to be split.
    expect(splitCalls() - splitsBefore).toBe(9);
    expect(two.length).toBe(one.length);
    two.forEach((t, i) => {
      expect(relativeError(t, one[i]), `output ${i}`).toBeLessThan(1e-5);
    });
    // And both agree with the cpu backend.
    const cpu = await onBackend('cpu', work);
    two.forEach((t, i) => {
      expect(relativeError(t, cpu[i]), `output ${i} vs cpu`).toBeLessThan(1e-3);
    });
  });

  it("run the calling thread's build, relaxed SIMD or plain, switched while they run", async () => {
    // On by default where the runtime has relaxed SIMD (Node 20 with the flag kernel-module.ts turns on).
    expect(relaxedSimdEnabled()).toBe(process.env.LENET_RELAXED_SIMD !== '0');
    const previous = setRelaxedSimdEnabled(true);
    try {
      await setWasmKernelThreads(1);
      setRelaxedSimdEnabled(false);
      const plainOne = await onBackend('wasm', work);
      setRelaxedSimdEnabled(true);
      const relaxedOne = await onBackend('wasm', work);
      await setWasmKernelThreads(2); // helpers start on the relaxed build
      const relaxedTwo = await onBackend('wasm', work);
      setRelaxedSimdEnabled(false); // and instantiate the plain one at its first call
      const plainTwo = await onBackend('wasm', work);
      // The forward outputs (0: conv, 3: conv 'same', 6: dense) are computed row by row by the
      // same code on either thread: bit for bit within a build, so a helper on the other build
      // would show. The builds differ (one rounding per multiply-add instead of two) within 1e-5.
      for (const i of [0, 3, 6]) {
        expect(relaxedTwo[i], `output ${i}, relaxed`).toEqual(relaxedOne[i]);
        expect(plainTwo[i], `output ${i}, plain`).toEqual(plainOne[i]);
        expect(relativeError(relaxedOne[i], plainOne[i]), `output ${i}`).toBeLessThan(1e-5);
      }
      // And the relaxed build does fuse: V8 compiles relaxed_madd to an FMA instruction on an
      // x86-64 core with FMA3 (this test fails on one without, where it is a multiply and an add).
      expect(relaxedOne.some((t, i) => t.some((v, j) => v !== plainOne[i][j]))).toBe(true);
    } finally {
      setRelaxedSimdEnabled(previous);
    }
  });

  it('stop polling after two reads in a row find more runnable threads than cores, and poll again once a read finds room', async () => {
    await setWasmKernelThreads(2);
    const pause = () => new Promise<void>((resolve) => setTimeout(resolve, 60)); // past the 50 ms between reads
    // One split call a phase (a few ms), so that each phase reads the source once.
    const conv = () => {
      const x = tf.tensor4d(randomArray(64 * 14 * 14 * 6, 1), [64, 14, 14, 6]);
      const w = tf.tensor4d(randomArray(5 * 5 * 6 * 16, 2), [5, 5, 6, 16]);
      return [tf.conv2d(x, w, 1, 'valid')];
    };
    const reads: number[] = [];
    let runnable = 1;
    const procReader = setRunnableThreadsSource(() => {
      reads.push(runnable);
      return runnable;
    });
    try {
      // The default source reads /proc/loadavg: at least this thread runs.
      if (process.platform === 'linux') expect(procReader()).toBeGreaterThanOrEqual(1);
      const splitsBefore = splitCalls();
      const one = await onBackend('wasm', conv);
      expect(splitCalls() - splitsBefore).toBe(1);
      expect(reads).toEqual([1]);
      expect(kernelPollAllowed()).toBe(true);
      runnable = 1000;
      await pause();
      await onBackend('wasm', conv);
      expect(kernelPollAllowed()).toBe(true); // one busy read: V8's own threads, often
      await pause();
      const crowded = await onBackend('wasm', conv);
      expect(kernelPollAllowed()).toBe(false);
      runnable = 1;
      await pause();
      await onBackend('wasm', conv);
      expect(kernelPollAllowed()).toBe(true);
      expect(reads).toEqual([1, 1000, 1000, 1]);
      // Sleeping at once or polling, the same results.
      crowded.forEach((t, i) => {
        expect(t, `output ${i}`).toEqual(one[i]);
      });
    } finally {
      setRunnableThreadsSource(procReader);
    }
  });

  it('give the same results whether a helper sleeps at once or polls for its next call', async () => {
    await setWasmKernelThreads(1);
    const one = await onBackend('wasm', work);
    await setWasmKernelThreads(2);
    const previous = setKernelThreadSpin(0);
    try {
      // With polling checked against the runnable threads (Linux) and regardless.
      for (const [spin, check] of [
        [0, true],
        [3000, true],
        [3000, false],
      ] as const) {
        setKernelThreadSpin(spin);
        setKernelPollCheck(check);
        const splitsBefore = splitCalls();
        const two = await onBackend('wasm', work);
        expect(splitCalls() - splitsBefore).toBe(9);
        two.forEach((t, i) => {
          expect(relativeError(t, one[i]), `spin ${spin}, check ${check}: output ${i}`).toBeLessThan(1e-5);
        });
      }
      expect(setKernelPollCheck(true)).toBe(false);
      // Bounded at 10 ms: a polling helper must not hold a core for long.
      expect(setKernelThreadSpin(50_000)).toBe(3000);
      expect(setKernelThreadSpin(-1)).toBe(10_000);
      expect(setKernelThreadSpin(previous)).toBe(0);
    } finally {
      setKernelThreadSpin(previous);
    }
  });

  it('do the idle work while the calling thread waits for a helper, with the same results', async () => {
    await setWasmKernelThreads(1);
    const one = await onBackend('wasm', work);
    await setWasmKernelThreads(2);
    // A helper that sleeps between calls takes 30–100 µs to wake: the calling thread, done with
    // its share first, then waits for it.
    const spin = setKernelThreadSpin(0);
    const waitSpin = setKernelWaitSpin(0);
    let calls = 0;
    try {
      // Work that never runs out (the waits still end with the helper's share), then none.
      for (const left of [Number.POSITIVE_INFINITY, 0]) {
        calls = 0;
        setKernelIdleWork(() => {
          calls++;
          return calls < left;
        });
        let two = await onBackend('wasm', work);
        // As below: a run can find the helper done before every wait.
        for (let run = 0; left > 0 && calls === 0 && run < 10; run++) two = await onBackend('wasm', work);
        if (left > 0) expect(calls).toBeGreaterThan(0);
        two.forEach((t, i) => {
          expect(relativeError(t, one[i]), `output ${i}`).toBeLessThan(1e-5);
        });
      }
      // Idle work that throws: the error reaches the caller after the helper's share, and the
      // helpers take the next kernels as before.
      setKernelIdleWork(() => {
        throw new Error('idle work failed');
      });
      // The idle work runs only when the calling thread finishes its share first, which a helper
      // that woke fast can prevent in all 9 calls of a run: try a few runs.
      let failure: unknown;
      for (let run = 0; run < 10 && failure === undefined; run++) {
        failure = await onBackend('wasm', work).then(
          () => undefined,
          (error: unknown) => error,
        );
      }
      expect(failure).toBeInstanceOf(Error);
      expect((failure as Error).message).toBe('idle work failed');
      setKernelIdleWork(null);
      const after = await onBackend('wasm', work);
      after.forEach((t, i) => {
        expect(relativeError(t, one[i]), `after the throw: output ${i}`).toBeLessThan(1e-5);
      });
      setKernelIdleWork(() => false);
      expect(setKernelIdleWork(null)).not.toBeNull();
      // Without idle work the waits sleep (or poll first): nothing is called, the same results.
      calls = 0;
      for (const poll of [0, 2000]) {
        setKernelWaitSpin(poll);
        const two = await onBackend('wasm', work);
        two.forEach((t, i) => {
          expect(relativeError(t, one[i]), `poll ${poll}: output ${i}`).toBeLessThan(1e-5);
        });
      }
      expect(calls).toBe(0);
      expect(setKernelWaitSpin(1e9)).toBe(2000);
      expect(setKernelWaitSpin(0)).toBe(10_000);
    } finally {
      setKernelIdleWork(null);
      setKernelWaitSpin(waitSpin);
      setKernelThreadSpin(spin);
    }
  });

  it('are not started again by registering the kernels again', async () => {
    await setWasmKernelThreads(2);
    for (let i = 0; i < 3; i++) await registerWasmTrainingKernels();
    expect(wasmKernelThreads()).toBe(2);
  });

  it('are set for a while by an override, which puts the count before back once', async () => {
    await setWasmKernelThreads(2);
    const override = await overrideWasmKernelThreads(1);
    expect(override.previous).toBe(2);
    expect(wasmKernelThreads()).toBe(1);
    await override.restore();
    expect(wasmKernelThreads()).toBe(2);
    await setWasmKernelThreads(3);
    await override.restore();
    expect(wasmKernelThreads()).toBe(3);
    await expect(overrideWasmKernelThreads(0)).rejects.toThrow(/positive integer, got 0/);
    expect(wasmKernelThreads()).toBe(3);
  });

  it('start and stop on request, and reject a bad count', async () => {
    await setWasmKernelThreads(3);
    expect(wasmKernelThreads()).toBe(3);
    await setWasmKernelThreads(1);
    expect(wasmKernelThreads()).toBe(1);
    await expect(setWasmKernelThreads(0)).rejects.toThrow(/positive integer, got 0/);
    await expect(setWasmKernelThreads(1.5)).rejects.toThrow(/positive integer/);
  });

  it('keep resident blocks per owner, filled again only for a new version, past them the calls', async () => {
    await setWasmKernelThreads(2);
    const threads = kernelThreads();
    if (threads === undefined) throw new Error('no helper threads');
    threads.forgetResidents();
    const start = threads.callStart;
    const fills: string[] = [];
    const fill = (name: string, value: number) => (view: Float32Array, at: number) => {
      fills.push(name);
      view[at / 4] = value;
    };
    const [a, b] = [{}, {}];
    const atA = threads.resident(a, 1, 1000, fill('a1', 1));
    expect(threads.resident(a, 1, 1000, fill('a1 again', 2))).toBe(atA);
    const atB = threads.resident(b, 7, 10, fill('b7', 3));
    expect(atB).toBeGreaterThanOrEqual(atA + 4000);
    expect(threads.resident(a, 2, 1000, fill('a2', 4))).toBe(atA);
    expect(fills).toEqual(['a1', 'b7', 'a2']);
    expect([threads.view()[atA / 4], threads.view()[atB / 4]]).toEqual([4, 3]);
    // A call's own regions start past every block.
    expect(threads.callStart).toBeGreaterThanOrEqual(atB + 40);
    // Another size is a new block; a released owner fills again.
    expect(threads.resident(b, 7, 20, fill('b7 bigger', 5))).toBeGreaterThanOrEqual(atB + 40);
    threads.releaseResident(a);
    threads.resident(a, 2, 1000, fill('a2 after release', 6));
    // Past 64 MB of blocks, all are forgotten and the new one starts at the beginning again.
    expect(threads.resident({}, 0, 16 * 1024 * 1024, fill('big', 7))).toBe(start);
    threads.resident(b, 7, 20, fill('b7 after reset', 8));
    expect(fills.slice(3)).toEqual(['b7 bigger', 'a2 after release', 'big', 'b7 after reset']);
    threads.forgetResidents();
    expect(threads.callStart).toBe(start);
  });
});
