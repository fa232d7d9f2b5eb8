import { describe, expect, it } from 'vitest';
import { BackendError, SKIP_REASONS } from './errors.js';
import * as tf from './tfjs.js';
import { availableBackends, useBackend } from './use-backend.js';

describe('useBackend on this machine (tfjs-node packages present without their addon)', () => {
  it("'auto' lands on wasm and says why both native backends were skipped", async () => {
    const info = await useBackend('auto');
    expect(info.name).toBe('wasm');
    expect(info.requested).toBe('auto');
    expect(tf.getBackend()).toBe('wasm');
    expect(info.tfBackend).toBe('wasm');
    expect(info.skipped.map((s) => s.name)).toEqual(['tensorflow-gpu', 'tensorflow', 'cpu']);
    for (const s of info.skipped.slice(0, 2)) {
      expect(['not installed', 'native binary missing']).toContain(s.reason);
      expect(SKIP_REASONS).toContain(s.reason);
      expect(s.detail).toMatch(/tfjs-node/);
    }
    expect(info.skipped[2].reason).toBe('lower priority');
    expect(info.wasmSimd).toBe(true);
    expect(info.threads).toBe(1);
    // tfjs's heap started shared: the kernels' helper threads work on it in place.
    expect(info.kernelSharedHeap).toBe(true);
    expect(info.kernels).toEqual([
      'Conv2DBackpropFilter',
      'Conv2DBackpropInput',
      'MaxPoolGrad',
      'AvgPoolGrad',
      'LenetFusedBatchNormGrad',
      'BatchMatMul',
      'LenetAdamUpdate',
      'Tanh',
      'LenetTanhGrad',
      'LenetReluGrad',
      'Add',
      'Sub',
      'Multiply',
      'RealDiv',
      'Sum',
      'Mean',
      'FusedBatchNorm',
      'Identity',
      'Conv2D',
      'FusedConv2D',
      'MaxPool',
      'AvgPool',
      'Tile',
      'Cast',
      'LenetDropoutMask',
      '_FusedMatMul',
      'ConvInputGradPruning',
    ]);
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
  });

  it("'tensorflow' when unavailable throws a BackendError naming package and reason", async () => {
    await tf.setBackend('cpu');
    const err = await useBackend('tensorflow').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendError);
    const e = err as BackendError;
    expect(e.message).toMatch(/^backend 'tensorflow' \(@tensorflow\/tfjs-node\) is not available: /);
    expect(['not installed', 'native binary missing']).toContain(e.reason);
    expect(e.backend).toBe('tensorflow');
    expect(tf.getBackend()).toBe('cpu');
  });

  it("'tensorflow-gpu' when unavailable throws too", async () => {
    await expect(useBackend('tensorflow-gpu')).rejects.toThrow(
      /backend 'tensorflow-gpu' \(@tensorflow\/tfjs-node-gpu\)/,
    );
  });

  it('an unknown name is rejected with the list of valid names', async () => {
    await expect(useBackend('webgpu' as never)).rejects.toThrow(
      "unknown backend 'webgpu': expected one of 'auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'",
    );
  });

  it("'cpu' and 'wasm' switch explicitly with nothing skipped", async () => {
    const cpu = await useBackend('cpu');
    expect(cpu).toEqual({ name: 'cpu', requested: 'cpu', tfBackend: 'cpu', skipped: [], threads: 1 });
    const wasm = await useBackend('wasm', { registerWasmKernels: false });
    expect(wasm.name).toBe('wasm');
    expect(wasm.skipped).toEqual([]);
    expect(wasm.kernels).toBeUndefined();
    expect(tf.getBackend()).toBe('wasm');
  });

  it('availableBackends reports without switching', async () => {
    await tf.setBackend('cpu');
    const list = await availableBackends();
    expect(list.map((b) => b.name)).toEqual(['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']);
    expect(list.map((b) => b.available)).toEqual([false, false, true, true]);
    expect(['not installed', 'native binary missing']).toContain(list[1].reason);
    expect(tf.getBackend()).toBe('cpu');
  });
});
