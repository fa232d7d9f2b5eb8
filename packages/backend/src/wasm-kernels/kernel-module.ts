import { setFlagsFromString } from 'node:v8';
import { LENET_SIMD_RELAXED_WASM_BASE64, LENET_SIMD_WASM_BASE64 } from './simd-binary.js';
import { withSharedMemoryImport } from './wasm-binary.js';

/**
 * The builds of csrc/lenet-kernels.c (scripts/build-simd.mjs): 0 is plain wasm SIMD, 1 adds
 * relaxed SIMD's fused multiply-add (`f32x4.relaxed_madd`) in the multiply-accumulate loops.
 */
export type KernelBuild = 0 | 1;

/** The wasm-API part used here (this package compiles without the DOM lib). */
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
}
const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

const BASE64: Record<KernelBuild, string> = { 0: LENET_SIMD_WASM_BASE64, 1: LENET_SIMD_RELAXED_WASM_BASE64 };
const bytesOf = new Map<KernelBuild, Uint8Array>();
/** LENET_RELAXED_SIMD=0: start on the plain build and never turn V8's flag on. */
const RELAXED_OFF_BY_ENV = process.env.LENET_RELAXED_SIMD === '0';
/** Whether the relaxed build may run (tests and A/B flip it). */
let relaxedWanted = !RELAXED_OFF_BY_ENV;
let relaxedValid: boolean | undefined;

/** The unshared module's bytes of `build`, decoded once. */
function moduleBytes(build: KernelBuild): Uint8Array {
  let bytes = bytesOf.get(build);
  if (bytes === undefined) {
    bytes = Buffer.from(BASE64[build], 'base64');
    bytesOf.set(build, bytes);
  }
  return bytes;
}

/**
 * Whether this runtime compiles the relaxed build. Node 22 and later (V8 ≥ 11.4) do; Node 20's
 * V8 has relaxed SIMD finished but behind `--experimental-wasm-relaxed-simd`, which is turned on
 * here (through node:v8, before the first kernel module is compiled) when the module does not
 * validate without it. The flag only lets V8 accept the relaxed opcodes; if the module still does
 * not validate, the plain build runs.
 */
export function relaxedSimdAvailable(): boolean {
  if (relaxedValid === undefined) {
    const bytes = moduleBytes(1);
    relaxedValid = wasmApi.validate(bytes);
    if (!relaxedValid && !RELAXED_OFF_BY_ENV) {
      try {
        setFlagsFromString('--experimental-wasm-relaxed-simd');
        relaxedValid = wasmApi.validate(bytes);
      } catch {
        relaxedValid = false;
      }
    }
  }
  return relaxedValid;
}

/** The build the kernels run now: the relaxed one where it is available and wanted. */
export function kernelBuild(): KernelBuild {
  return relaxedWanted && relaxedSimdAvailable() ? 1 : 0;
}

/** Whether the SIMD kernels run their relaxed-SIMD build (fused multiply-adds) now. */
export function relaxedSimdEnabled(): boolean {
  return kernelBuild() === 1;
}

/**
 * Turns the SIMD kernels' relaxed-SIMD build (fused multiply-adds, results that differ from the
 * plain build's in the last bits) off or on where the runtime has it; returns the previous
 * setting. On by default; a process started with LENET_RELAXED_SIMD=0 never turns V8's flag on.
 */
export function setRelaxedSimdEnabled(enabled: boolean): boolean {
  const previous = relaxedWanted;
  relaxedWanted = enabled;
  return previous;
}

/** Max pages of a shared memory (the threads' own, tfjs's heap): 4 GiB, as tfjs declares its heap's. */
export const SHARED_MAX_PAGES = 65536;

/**
 * The bytes of `build`'s module: importing an unshared memory (tfjs's own) or, for the helper
 * threads, a shared one of at most {@link SHARED_MAX_PAGES} pages. The build makes one module;
 * clang's shared-memory build of the same source differs only in that import's limits (checked in
 * build-simd.mjs), so the shared one is derived here instead of shipped twice.
 */
export function kernelModuleBytes(build: KernelBuild, shared: boolean): Uint8Array {
  const bytes = moduleBytes(build);
  return shared ? withSharedMemoryImport(bytes, SHARED_MAX_PAGES) : bytes;
}
