import { describe, expect, it } from 'vitest';
import { classifyLoadError, type ProbeEnvironment, probeNative } from './probe.js';
import { useBackend } from './use-backend.js';

function fakeEnv(over: Partial<ProbeEnvironment>): ProbeEnvironment {
  return {
    packageDir: (pkg) => `/fake/node_modules/${pkg}`,
    bindingPath: (dir) => `${dir}/lib/napi-v8/tfjs_binding.node`,
    hasCudaDevice: () => true,
    load: () => {},
    ...over,
  };
}

function moduleNotFound(pkg: string): Error {
  return Object.assign(new Error(`Cannot find module '${pkg}'\nRequire stack:\n- /x.js`), {
    code: 'MODULE_NOT_FOUND',
  });
}

describe('classifyLoadError', () => {
  it('sorts the errors tfjs-node packages throw into the documented reasons', () => {
    const pkg = '@tensorflow/tfjs-node';
    expect(classifyLoadError(moduleNotFound(pkg), pkg)).toBe('not installed');
    expect(
      classifyLoadError(
        new Error('The Node.js native addon module (tfjs_binding.node) can not be found at path: /x'),
        pkg,
      ),
    ).toBe('native binary missing');
    expect(
      classifyLoadError(
        new Error('libtensorflow.so.2: cannot open shared object file: No such file or directory'),
        pkg,
      ),
    ).toBe('native binary missing');
    expect(
      classifyLoadError(
        new Error('libcudart.so.11.0: cannot open shared object file: No such file or directory'),
        pkg,
      ),
    ).toBe('no CUDA device');
    expect(classifyLoadError(new Error('Could not initialize TensorFlow backend.'), pkg)).toBe(
      'failed to initialise',
    );
    // A dependency of the package missing is not the package missing.
    expect(classifyLoadError(moduleNotFound('@mapbox/node-pre-gyp'), pkg)).toBe('failed to initialise');
  });
});

describe('probeNative checks in order: package, addon, GPU, load', () => {
  it('not installed', () => {
    const r = probeNative('tensorflow', fakeEnv({ packageDir: () => null }));
    expect(r).toEqual({
      ok: false,
      reason: 'not installed',
      detail: '@tensorflow/tfjs-node cannot be resolved',
    });
  });

  it('native binary missing', () => {
    const r = probeNative('tensorflow-gpu', fakeEnv({ bindingPath: () => null }));
    expect(r.ok).toBe(false);
    expect(r.ok === false && r.reason).toBe('native binary missing');
    expect(r.ok === false && r.detail).toContain('npm rebuild @tensorflow/tfjs-node-gpu');
  });

  it('no CUDA device is checked for the GPU build only, before loading it', () => {
    let loaded = 0;
    const env = fakeEnv({ hasCudaDevice: () => false, load: () => void loaded++ });
    expect(probeNative('tensorflow-gpu', env)).toMatchObject({ ok: false, reason: 'no CUDA device' });
    expect(loaded).toBe(0);
    expect(probeNative('tensorflow', env)).toEqual({ ok: true });
    expect(loaded).toBe(1);
  });

  it('a load error is classified', () => {
    const env = fakeEnv({
      load: () => {
        throw new Error('libcudnn.so.8: cannot open shared object file');
      },
    });
    expect(probeNative('tensorflow-gpu', env)).toEqual({
      ok: false,
      reason: 'no CUDA device',
      detail: 'libcudnn.so.8: cannot open shared object file',
    });
  });

  it("'auto' reports each native backend's own reason", async () => {
    const env = fakeEnv({
      packageDir: (pkg) => (pkg === '@tensorflow/tfjs-node-gpu' ? null : `/fake/${pkg}`),
      bindingPath: (dir) => (dir.includes('tfjs-node') ? null : `${dir}/x.node`),
    });
    const info = await useBackend('auto', { probeEnvironment: env, registerWasmKernels: false });
    expect(info.name).toBe('wasm');
    expect(info.skipped.map((s) => [s.name, s.reason])).toEqual([
      ['tensorflow-gpu', 'not installed'],
      ['tensorflow', 'native binary missing'],
      ['cpu', 'lower priority'],
    ]);
  });
});
