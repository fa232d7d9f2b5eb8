// This machine's wasm SIMD compute limit, one thread: 12 independent f32x4 multiply + add chains
// with no loads (GFLOP/s, 2 FLOPs per multiply-add), the same with relaxed SIMD's fused
// multiply-add (f32x4.relaxed_madd, as the kernels' relaxed build), and what a multiply costs when
// its input is a subnormal float (wasm has no flush-to-zero; some cores take a slow path for
// them). Compiles its own tiny module; needs clang ≥ 16 with the wasm32 target (as build-simd.mjs).
//   node packages/backend/scripts/wasm-peak.mjs
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';

const SOURCE = `#include <wasm_simd128.h>
#define CHAINS(F) F(0) F(1) F(2) F(3) F(4) F(5) F(6) F(7) F(8) F(9) F(10) F(11)
#define DECL(j) v128_t a##j = wasm_f32x4_splat(s * (1.0f + (j) * 1e-3f));
#define MULADD(j) a##j = wasm_f32x4_add(wasm_f32x4_mul(a##j, m), c);
#define FMA(j) a##j = (v128_t)__builtin_wasm_relaxed_madd_f32x4((f32x4)a##j, (f32x4)m, (f32x4)c);
#define MUL(j) a##j = wasm_f32x4_mul(a##j, m);
typedef float f32x4 __attribute__((__vector_size__(16), __aligned__(16)));
#define SUM(j) r = wasm_f32x4_add(r, a##j);
/* 12 chains of STEP from s; r sums them so that none is optimised away. */
#define CHAIN_LOOP(name, STEP)                                                                  \
  __attribute__((export_name(#name))) float name(int n, float s) {                             \
    CHAINS(DECL)                                                                                \
    v128_t m = wasm_f32x4_splat(0.999f), c = wasm_f32x4_splat(1e-3f), r = wasm_f32x4_splat(0); \
    for (int i = 0; i < n; i++) { CHAINS(STEP) }                                                \
    CHAINS(SUM)                                                                                 \
    return wasm_f32x4_extract_lane(r, 0);                                                       \
  }
CHAIN_LOOP(muladd, MULADD)
CHAIN_LOOP(fma_chains, FMA)
/* s * k^n with k = 1 passed in (a constant 1 would be folded away): every product equals its
   input, so a subnormal s stays subnormal throughout. */
__attribute__((export_name("mul"))) float mul(int n, float s, float k) {
  CHAINS(DECL)
  v128_t m = wasm_f32x4_splat(k), r = wasm_f32x4_splat(0);
  for (int i = 0; i < n; i++) { CHAINS(MUL) }
  CHAINS(SUM)
  return wasm_f32x4_extract_lane(r, 0);
}
`;
const dir = mkdtempSync(join(tmpdir(), 'lenet-peak-'));
let bytes;
try {
  writeFileSync(join(dir, 'peak.c'), SOURCE);
  execFileSync(process.env.CLANG ?? 'clang-16', [
    '--target=wasm32',
    '-O3',
    '-ffp-contract=off',
    '-msimd128',
    '-mrelaxed-simd',
    '-nostdlib',
    '-Wl,--no-entry',
    '-o',
    join(dir, 'peak.wasm'),
    join(dir, 'peak.c'),
  ]);
  bytes = readFileSync(join(dir, 'peak.wasm'));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
// Node 20 validates relaxed SIMD only behind this flag (Node 22 without it), as kernel-module.ts.
if (!WebAssembly.validate(bytes)) setFlagsFromString('--experimental-wasm-relaxed-simd');
const { instance } = await WebAssembly.instantiate(bytes);
const { muladd, fma_chains: fma, mul } = instance.exports;
const best = (f, n) => {
  let b = Number.POSITIVE_INFINITY;
  for (let r = 0; r < 7; r++) {
    const t0 = performance.now();
    f(n);
    b = Math.min(b, performance.now() - t0);
  }
  return b;
};
const n = 5_000_000;
const peak = (n * 12 * 4 * 2) / best((k) => muladd(k, 1), n) / 1e6;
const fmaPeak = (n * 12 * 4 * 2) / best((k) => fma(k, 1), n) / 1e6;
const normal = best((k) => mul(k, 1, 1), n / 10) / ((n / 10) * 12);
// 1e-39 is below float32's smallest normal, 1.18e-38.
const subnormal = best((k) => mul(k, 1e-39, 1), n / 100) / ((n / 100) * 12);
console.log(`${cpus()[0]?.model ?? '?'}, node ${process.version}, one thread`);
console.log(`f32x4 multiply + add, 12 chains: ${peak.toFixed(1)} GFLOP/s`);
console.log(`f32x4.relaxed_madd, 12 chains: ${fmaPeak.toFixed(1)} GFLOP/s (${(fmaPeak / peak).toFixed(2)}×)`);
console.log(
  `f32x4 multiply: ${(normal * 1e6).toFixed(2)} ns normal, ${(subnormal * 1e6).toFixed(2)} ns subnormal input (${(subnormal / normal).toFixed(0)}×)`,
);
