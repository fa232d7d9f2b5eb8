// SIMD training kernels for tfjs-backend-wasm, compiled to a small wasm module that imports the
// tfjs module's own memory, so they read and write tfjs tensors in place (pointers are byte
// offsets into that memory). Build: `node packages/backend/scripts/build-simd.mjs` (clang + lld).
//
// Rules this file keeps, because the module shares memory it does not own:
// - no static data and no arrays on the C stack (the module has no stack region of its own: the
//   build checks that no code touches the stack pointer and that there is no data segment);
// - every write stays inside the output buffer the caller passes (partial vectors are written
//   lane by lane), every read inside the input buffers.
// All tensors are float32, NHWC; filters are [KH, KW, CI, CO] as in TensorFlow.

#include <stdint.h>
#include <wasm_simd128.h>

typedef float f32;
typedef int32_t i32;

#define EXPORT(name) __attribute__((export_name(#name)))
#define INLINE static inline __attribute__((always_inline))
// A function of its own in the module: V8 compiles each wasm function on its own when it gets hot,
// and one that inlined every variant of a kernel compiled for 160 ms (see the sparse kernels).
#define NOINLINE __attribute__((noinline))

// acc + a * b for the multiply-accumulate loops of the convolution and matrix kernels. Built twice
// (scripts/build-simd.mjs): with LENET_RELAXED_SIMD it is relaxed SIMD's f32x4.relaxed_madd, which
// V8 compiles to one fused multiply-add on a core with FMA (one rounding instead of two, so results
// differ from the plain build in the last bits); without it, a multiply then an add.
#ifdef LENET_RELAXED_SIMD
typedef float lenet_f32x4 __attribute__((__vector_size__(16), __aligned__(16)));
#define LENET_MADD(acc, a, b) \
  ((v128_t)__builtin_wasm_relaxed_madd_f32x4((lenet_f32x4)(a), (lenet_f32x4)(b), (lenet_f32x4)(acc)))
#else
#define LENET_MADD(acc, a, b) wasm_f32x4_add((acc), wasm_f32x4_mul((a), (b)))
#endif

// ---------------------------------------------------------------------------------------------
// Copies

// dst[r * dstStride + i] = src[r * srcStride + i] for i < len; when zeroLen > 0 the first zeroLen
// floats of dst are cleared first (to pad rows with zeros).
EXPORT(lenet_copy_rows)
void lenet_copy_rows(const f32 *src, i32 srcStride, f32 *dst, i32 dstStride, i32 rows, i32 len, i32 zeroLen) {
  if (zeroLen > 0) __builtin_memset(dst, 0, (uint32_t)zeroLen * 4u);
  if (len < 16) {
    // Short rows (a dy with 6 channels): a memory.copy per row costs more than the copy.
    for (i32 r = 0; r < rows; r++)
      for (i32 i = 0; i < len; i++) dst[r * dstStride + i] = src[r * srcStride + i];
    return;
  }
  for (i32 r = 0; r < rows; r++) __builtin_memcpy(dst + r * dstStride, src + r * srcStride, (uint32_t)len * 4u);
}

// Zero-pads src [n, h, w, c] into dst [n, hp, wp, c] at (top, left).
EXPORT(lenet_pad_nhwc)
void lenet_pad_nhwc(const f32 *src, f32 *dst, i32 n, i32 h, i32 w, i32 c, i32 hp, i32 wp, i32 top, i32 left) {
  __builtin_memset(dst, 0, (uint32_t)(n * hp * wp * c) * 4u);
  for (i32 b = 0; b < n; b++)
    for (i32 y = 0; y < h; y++)
      __builtin_memcpy(dst + ((b * hp + y + top) * wp + left) * c, src + (b * h + y) * w * c, (uint32_t)(w * c) * 4u);
}

// The inverse: dst [n, h, w, c] = src [n, hp, wp, c] at (top, left).
EXPORT(lenet_crop_nhwc)
void lenet_crop_nhwc(const f32 *src, f32 *dst, i32 n, i32 h, i32 w, i32 c, i32 hp, i32 wp, i32 top, i32 left) {
  for (i32 b = 0; b < n; b++)
    for (i32 y = 0; y < h; y++)
      __builtin_memcpy(dst + (b * h + y) * w * c, src + ((b * hp + y + top) * wp + left) * c, (uint32_t)(w * c) * 4u);
}

// ---------------------------------------------------------------------------------------------
// Conv2D filter gradient:  dW[r, co] = Σ_p X[p, r] · dY[p, co]
// over pixels p = (n, oh, ow) and patch rows r = (kh, kw, ci). X[p, r] is read straight from the
// padded input (no im2col): xp[pixel base of p + offset of r]. dY has co4 (a multiple of 4)
// floats per pixel; dW has co4 floats per row. R patch rows × V vectors of 4 output channels
// are accumulated in registers over every pixel, then stored.

#define FILTER_GRAD(R, V)                                                                                  \
  static void filter_grad_##R##x##V(const f32 *xp, const f32 *dy, f32 *dw, i32 o0, i32 o1, i32 o2, i32 o3, \
                                    i32 n, i32 oh, i32 ow, i32 imageStride, i32 rowStep, i32 colStep,    \
                                    i32 co4, i32 dyStride, i32 more) {                                   \
    const i32 off[4] = {o0, o1, o2, o3};                                                                 \
    v128_t acc[R][V];                                                                                    \
    for (i32 r = 0; r < R; r++)                                                                          \
      for (i32 v = 0; v < V; v++)                                                                        \
        acc[r][v] = more ? wasm_v128_load(dw + r * co4 + 4 * v) : wasm_f32x4_splat(0.0f);                \
    const f32 *d = dy;                                                                                   \
    for (i32 b = 0; b < n; b++) {                                                                        \
      const f32 *image = xp + b * imageStride;                                                           \
      for (i32 y = 0; y < oh; y++) {                                                                     \
        const f32 *px = image + y * rowStep;                                                             \
        for (i32 x = 0; x < ow; x++, px += colStep, d += dyStride) {                                     \
          v128_t g[V];                                                                                   \
          for (i32 v = 0; v < V; v++) g[v] = wasm_v128_load(d + 4 * v);                                  \
          for (i32 r = 0; r < R; r++) {                                                                  \
            const v128_t s = wasm_v128_load32_splat(px + off[r]);                                        \
            for (i32 v = 0; v < V; v++) acc[r][v] = LENET_MADD(acc[r][v], s, g[v]);  \
          }                                                                                              \
        }                                                                                                \
      }                                                                                                  \
    }                                                                                                    \
    for (i32 r = 0; r < R; r++)                                                                          \
      for (i32 v = 0; v < V; v++) wasm_v128_store(dw + r * co4 + 4 * v, acc[r][v]);                      \
  }

FILTER_GRAD(4, 1)
FILTER_GRAD(4, 2)
FILTER_GRAD(2, 3)
FILTER_GRAD(2, 4)
FILTER_GRAD(1, 1)
FILTER_GRAD(1, 2)
FILTER_GRAD(1, 3)
FILTER_GRAD(1, 4)

// Floats of input and dy per image group of lenet_conv_filter_grad (set at build time for A/B).
#ifndef LENET_FILTER_GRAD_GROUP_FLOATS
#define LENET_FILTER_GRAD_GROUP_FLOATS 4096
#endif

// Offset in xp of patch row r = (kh, kw, ci), for a stride-1 walk inside one image row.
INLINE i32 patch_offset(i32 r, i32 kwci, i32 wpci) { return (r / kwci) * wpci + r % kwci; }

// xp: the input padded to [n, hp, wp, ci]; dy: [n, oh, ow, ·] with dyStride floats per pixel;
// dw: [kh, kw, ci, co4]. With dyStride < co4 (co not a multiple of 4) the last vector of a pixel
// reads into the next pixel's values, which only feed the lanes past co that the caller drops;
// the caller makes sure 16 bytes past dy are readable.
// accumulate: 1 to add onto dw's sums (its first images taken by an earlier call), 0 to overwrite it.
static void conv_filter_grad(const f32 *xp, const f32 *dy, f32 *dw, i32 n, i32 hp, i32 wp, i32 ci, i32 oh, i32 ow,
                             i32 co4, i32 kh, i32 kw, i32 sh, i32 sw, i32 dyStride, i32 accumulate) {
  const i32 rows = kh * kw * ci;
  const i32 kwci = kw * ci;
  const i32 wpci = wp * ci;
  const i32 imageStride = hp * wpci;
  const i32 rowStep = sh * wpci;
  const i32 colStep = sw * ci;
  // Images in groups whose input and dy stay in the core's caches while every block of patch rows
  // walks them (a whole batch's dy, read once per block, did not: 1.2 MB for LeNet's C1 at batch
  // 64). The sums run on in the same order across groups: dW is stored after a group and read back.
  const i32 perImage = oh * ow * dyStride + imageStride;
  const i32 group = perImage >= LENET_FILTER_GRAD_GROUP_FLOATS ? 1 : LENET_FILTER_GRAD_GROUP_FLOATS / perImage;
  for (i32 b0 = 0; b0 < n; b0 += group) {
    const i32 nb = n - b0 < group ? n - b0 : group;
    const i32 more = accumulate || b0 > 0;
    const f32 *xg = xp + b0 * imageStride;
    const f32 *dg = dy + b0 * oh * ow * dyStride;
    for (i32 cb = 0; cb < co4; cb += 16) {
      const i32 vecs = (co4 - cb) / 4 < 4 ? (co4 - cb) / 4 : 4;
      // At most 8 accumulators: 3 rows × 3 vectors (9) ran at half the speed of 2 × 3 under V8
      // (torch-bn's 6→12 conv: 0.52 vs 0.24 ms), spilling, it seems.
      const i32 block = vecs == 4 || vecs == 3 ? 2 : 4;
      i32 r = 0;
      for (; r + block <= rows; r += block) {
        const i32 o0 = patch_offset(r, kwci, wpci);
        const i32 o1 = patch_offset(r + 1, kwci, wpci);
        const i32 o2 = block > 2 ? patch_offset(r + 2, kwci, wpci) : 0;
        const i32 o3 = block > 3 ? patch_offset(r + 3, kwci, wpci) : 0;
        f32 *out = dw + r * co4 + cb;
        const f32 *g = dg + cb;
        switch (vecs) {
          case 1: filter_grad_4x1(xg, g, out, o0, o1, o2, o3, nb, oh, ow, imageStride, rowStep, colStep, co4, dyStride, more); break;
          case 2: filter_grad_4x2(xg, g, out, o0, o1, o2, o3, nb, oh, ow, imageStride, rowStep, colStep, co4, dyStride, more); break;
          case 3: filter_grad_2x3(xg, g, out, o0, o1, o2, o3, nb, oh, ow, imageStride, rowStep, colStep, co4, dyStride, more); break;
          default: filter_grad_2x4(xg, g, out, o0, o1, o2, o3, nb, oh, ow, imageStride, rowStep, colStep, co4, dyStride, more); break;
        }
      }
      for (; r < rows; r++) {
        const i32 o0 = patch_offset(r, kwci, wpci);
        f32 *out = dw + r * co4 + cb;
        const f32 *g = dg + cb;
        switch (vecs) {
          case 1: filter_grad_1x1(xg, g, out, o0, 0, 0, 0, nb, oh, ow, imageStride, rowStep, colStep, co4, dyStride, more); break;
          case 2: filter_grad_1x2(xg, g, out, o0, 0, 0, 0, nb, oh, ow, imageStride, rowStep, colStep, co4, dyStride, more); break;
          case 3: filter_grad_1x3(xg, g, out, o0, 0, 0, 0, nb, oh, ow, imageStride, rowStep, colStep, co4, dyStride, more); break;
          default: filter_grad_1x4(xg, g, out, o0, 0, 0, 0, nb, oh, ow, imageStride, rowStep, colStep, co4, dyStride, more); break;
        }
      }
    }
  }
}

EXPORT(lenet_conv_filter_grad)
void lenet_conv_filter_grad(const f32 *xp, const f32 *dy, f32 *dw, i32 n, i32 hp, i32 wp, i32 ci, i32 oh, i32 ow,
                            i32 co4, i32 kh, i32 kw, i32 sh, i32 sw, i32 dyStride) {
  conv_filter_grad(xp, dy, dw, n, hp, wp, ci, oh, ow, co4, kh, kw, sh, sw, dyStride, 0);
}

// ---------------------------------------------------------------------------------------------
// Conv2D input gradient: the run of kw·ci input-gradient floats under filter row kh of output
// pixel p gets Σ_co dY[p, co] · Wt[kh, co, ·], gathered per input row (lenet_conv_input_grad).

// Wt [kh, co, l4] (l4 = kw·ci rounded up to 4, zero tail) from W [kh, kw, ci, co].
EXPORT(lenet_input_grad_filter)
void lenet_input_grad_filter(const f32 *w, f32 *wt, i32 kh, i32 kw, i32 ci, i32 co, i32 l4) {
  __builtin_memset(wt, 0, (uint32_t)(kh * co * l4) * 4u);
  for (i32 a = 0; a < kh; a++)
    for (i32 j = 0; j < kw * ci; j++)
      for (i32 o = 0; o < co; o++) wt[(a * co + o) * l4 + j] = w[(a * kw * ci + j) * co + o];
}

// Loads / stores the first n (1–3) floats of a vector, never touching the others.
INLINE v128_t load_lanes(const f32 *p, i32 n) {
  if (n == 1) return wasm_v128_load32_zero(p);
  const v128_t v = wasm_v128_load64_zero(p);
  return n == 3 ? wasm_v128_load32_lane(p + 2, v, 2) : v;
}

INLINE void store_lanes_partial(f32 *p, v128_t v, i32 n) {
  // Scalar stores of constant lanes: written as lane stores, clang merged the two 32-bit cases
  // into one store with a variable lane, which goes through the stack.
  p[0] = wasm_f32x4_extract_lane(v, 0);
  if (n > 1) p[1] = wasm_f32x4_extract_lane(v, 1);
  if (n > 2) p[2] = wasm_f32x4_extract_lane(v, 2);
}

// dst[0 .. len) += the first len floats of V vectors (len > 4·(V − 1)); the last one may be partial.
#define ADD_RUN(dst, acc, V, len)                                                         \
  _Pragma("clang loop unroll(full)")                                                      \
  for (i32 v = 0; v < V; v++) {                                                           \
    const i32 left = (len) - 4 * v;                                                       \
    if (left >= 4) {                                                                      \
      wasm_v128_store(dst + 4 * v, wasm_f32x4_add(wasm_v128_load(dst + 4 * v), acc[v]));  \
    } else {                                                                              \
      store_lanes_partial(dst + 4 * v, wasm_f32x4_add(load_lanes(dst + 4 * v, left), acc[v]), left); \
    }                                                                                     \
  }

// Gather over the filter rows: one input-gradient row r gets, under each of P adjacent output
// pixels of the rows y that reach it (na of them, filter row a = r − y·sh), Σ_a Σ_o dY[y, x, o] ·
// Wt[a, o, chunk of 4·V floats]. The chunk is summed in registers over all na·co terms and added
// to dx once (the scatter form before this read and wrote it per pixel and filter row, at half
// the speed), and the P pixels share each filter load (P = 2: 2 splats and V loads per 2·V
// multiply-adds instead of 1 and V per V). g: dY of pixel 0 in the first row y (gStep floats to the next, an earlier row); w: Wt
// at the first filter row a and the chunk (wStep floats to the next); dst: the chunk under pixel
// 0, the next pixel's dstStep floats on; len: floats of the chunk (≤ 4·V).
#define INPUT_GATHER(P, V)                                                                                   \
  static void input_gather_##P##x##V(f32 *dst, const f32 *g, const f32 *w, i32 na, i32 gStep, i32 wStep,  \
                                      i32 co, i32 l4, i32 dstStep, i32 len) {                                \
    v128_t acc[P][V];                                                                                        \
    for (i32 p = 0; p < P; p++)                                                                              \
      for (i32 v = 0; v < V; v++) acc[p][v] = wasm_f32x4_splat(0.0f);                                        \
    for (i32 k = 0; k < na; k++, g += gStep, w += wStep) {                                                   \
      const f32 *wo = w;                                                                                     \
      for (i32 o = 0; o < co; o++, wo += l4) {                                                               \
        v128_t s[P];                                                                                         \
        for (i32 p = 0; p < P; p++) s[p] = wasm_v128_load32_splat(g + p * co + o);                           \
        for (i32 v = 0; v < V; v++) {                                                                        \
          const v128_t wv = wasm_v128_load(wo + 4 * v);                                                      \
          for (i32 p = 0; p < P; p++) acc[p][v] = LENET_MADD(acc[p][v], s[p], wv);       \
        }                                                                                                    \
      }                                                                                                      \
    }                                                                                                        \
    _Pragma("clang loop unroll(full)")                                                                       \
    for (i32 p = 0; p < P; p++) {                                                                            \
      f32 *d = dst + p * dstStep;                                                                            \
      ADD_RUN(d, acc[p], V, len)                                                                             \
    }                                                                                                        \
  }

INPUT_GATHER(2, 1)
INPUT_GATHER(2, 2)
INPUT_GATHER(2, 3)
INPUT_GATHER(2, 4)
INPUT_GATHER(1, 1)
INPUT_GATHER(1, 2)
INPUT_GATHER(1, 3)
INPUT_GATHER(1, 4)

// One pixel pair (P = 2) or a last single pixel: the run of kw·ci floats in chunks of 16.
static void input_gather_pixels(i32 pair, f32 *dst, const f32 *g, const f32 *w, i32 na, i32 gStep, i32 wStep,
                                i32 co, i32 l4, i32 dstStep, i32 run) {
  for (i32 c = 0; c < run; c += 16) {
    const i32 len = run - c < 16 ? run - c : 16;
    const i32 vecs = (len + 3) / 4;
    // Reads of Wt stay inside its l4-float rows: c + 4·vecs ≤ l4.
    if (pair) {
      switch (vecs) {
        case 1: input_gather_2x1(dst + c, g, w + c, na, gStep, wStep, co, l4, dstStep, len); break;
        case 2: input_gather_2x2(dst + c, g, w + c, na, gStep, wStep, co, l4, dstStep, len); break;
        case 3: input_gather_2x3(dst + c, g, w + c, na, gStep, wStep, co, l4, dstStep, len); break;
        default: input_gather_2x4(dst + c, g, w + c, na, gStep, wStep, co, l4, dstStep, len); break;
      }
    } else {
      switch (vecs) {
        case 1: input_gather_1x1(dst + c, g, w + c, na, gStep, wStep, co, l4, dstStep, len); break;
        case 2: input_gather_1x2(dst + c, g, w + c, na, gStep, wStep, co, l4, dstStep, len); break;
        case 3: input_gather_1x3(dst + c, g, w + c, na, gStep, wStep, co, l4, dstStep, len); break;
        default: input_gather_1x4(dst + c, g, w + c, na, gStep, wStep, co, l4, dstStep, len); break;
      }
    }
  }
}

// dy [n, oh, ow, co]; wt from lenet_input_grad_filter; dxp [n, hp, wp, ci] (the padded input
// gradient, overwritten). Row by row of dxp, so that each run is added to once per pixel.
EXPORT(lenet_conv_input_grad)
void lenet_conv_input_grad(const f32 *dy, const f32 *wt, f32 *dxp, i32 n, i32 oh, i32 ow, i32 co, i32 hp, i32 wp,
                           i32 ci, i32 kh, i32 kw, i32 sh, i32 sw, i32 l4) {
  __builtin_memset(dxp, 0, (uint32_t)(n * hp * wp * ci) * 4u);
  const i32 run = kw * ci;
  for (i32 b = 0; b < n; b++)
    for (i32 r = 0; r < hp; r++) {
      // The output rows y that reach input row r: a = r − y·sh in [0, kh), y in [0, oh).
      const i32 yHi = r / sh < oh - 1 ? r / sh : oh - 1;
      const i32 t = r - kh + 1;
      const i32 yLo = t <= 0 ? 0 : (t + sh - 1) / sh;
      const i32 na = yHi - yLo + 1;
      if (na <= 0) continue;
      const f32 *g = dy + (b * oh + yHi) * ow * co;
      const f32 *w = wt + (r - yHi * sh) * co * l4;
      f32 *row = dxp + (b * hp + r) * wp * ci;
      i32 x = 0;
      for (; x + 1 < ow; x += 2)
        input_gather_pixels(1, row + x * sw * ci, g + x * co, w, na, -ow * co, sh * co * l4, co, l4, sw * ci, run);
      if (x < ow)
        input_gather_pixels(0, row + x * sw * ci, g + x * co, w, na, -ow * co, sh * co * l4, co, l4, sw * ci, run);
    }
}

// ---------------------------------------------------------------------------------------------
// Activations and their gradients

// XNNPACK's float32 rational tanh ("rational-9-6") with the numerator scaled so that the clamped
// input gives exactly ±1 (see tanh.ts for the constants' derivation).
#define TANH_CLAMP 7.646893501282f

INLINE f32 tanh_scalar(f32 v, f32 a1, f32 a3, f32 a5, f32 a7, f32 a9) {
  const f32 c = v > TANH_CLAMP ? TANH_CLAMP : v < -TANH_CLAMP ? -TANH_CLAMP : v;
  const f32 z = c * c;
  const f32 p = c * (a1 + z * (a3 + z * (a5 + z * (a7 + z * a9))));
  const f32 q = -9.023001417518e-3f + z * (-4.154618829489e-3f + z * (-2.061512641376e-4f + z * -1.774490101525e-6f));
  const f32 t = p / q;
  return t > 1.0f ? 1.0f : t < -1.0f ? -1.0f : t;
}

// tanh of 4 floats: va1…va9 the scaled numerator coefficients splatted. pmin(v, hi) = hi < v ?
// hi : v and pmax(c, lo) = c < lo ? lo : c keep a NaN v (both compares are false), and map to
// single SSE instructions (min/max with NaN rules take ~8 each in V8). The one vector form of
// the arithmetic, so that lenet_conv_forward_pool2 rounds as lenet_tanh.
INLINE v128_t tanh_vec(v128_t v, v128_t va1, v128_t va3, v128_t va5, v128_t va7, v128_t va9) {
  const v128_t c = wasm_f32x4_pmax(wasm_f32x4_pmin(v, wasm_f32x4_splat(TANH_CLAMP)), wasm_f32x4_splat(-TANH_CLAMP));
  const v128_t z = wasm_f32x4_mul(c, c);
  v128_t p = wasm_f32x4_add(va7, wasm_f32x4_mul(z, va9));
  p = wasm_f32x4_add(va5, wasm_f32x4_mul(z, p));
  p = wasm_f32x4_add(va3, wasm_f32x4_mul(z, p));
  p = wasm_f32x4_add(va1, wasm_f32x4_mul(z, p));
  p = wasm_f32x4_mul(c, p);
  v128_t q = wasm_f32x4_add(wasm_f32x4_splat(-2.061512641376e-4f), wasm_f32x4_mul(z, wasm_f32x4_splat(-1.774490101525e-6f)));
  q = wasm_f32x4_add(wasm_f32x4_splat(-4.154618829489e-3f), wasm_f32x4_mul(z, q));
  q = wasm_f32x4_add(wasm_f32x4_splat(-9.023001417518e-3f), wasm_f32x4_mul(z, q));
  return wasm_f32x4_pmax(wasm_f32x4_pmin(wasm_f32x4_div(p, q), wasm_f32x4_splat(1.0f)), wasm_f32x4_splat(-1.0f));
}

// y = tanh(x); a1…a9 are the scaled numerator coefficients (passed in: no static data here).
EXPORT(lenet_tanh)
void lenet_tanh(const f32 *x, f32 *y, i32 len, f32 a1, f32 a3, f32 a5, f32 a7, f32 a9) {
  const v128_t va1 = wasm_f32x4_splat(a1), va3 = wasm_f32x4_splat(a3), va5 = wasm_f32x4_splat(a5),
               va7 = wasm_f32x4_splat(a7), va9 = wasm_f32x4_splat(a9);
  i32 i = 0;
  for (; i + 4 <= len; i += 4) wasm_v128_store(y + i, tanh_vec(wasm_v128_load(x + i), va1, va3, va5, va7, va9));
  for (; i < len; i++) y[i] = tanh_scalar(x[i], a1, a3, a5, a7, a9);
}

// dx = dy · (1 − y²), y = tanh(x).
EXPORT(lenet_tanh_grad)
void lenet_tanh_grad(const f32 *y, const f32 *dy, f32 *dx, i32 len) {
  const v128_t one = wasm_f32x4_splat(1.0f);
  i32 i = 0;
  for (; i + 4 <= len; i += 4) {
    const v128_t v = wasm_v128_load(y + i);
    wasm_v128_store(dx + i, wasm_f32x4_mul(wasm_v128_load(dy + i), wasm_f32x4_sub(one, wasm_f32x4_mul(v, v))));
  }
  for (; i < len; i++) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
}

// dx = dy · step(x) with step(x) = 1 for x > 0, 0 otherwise and NaN for NaN (tfjs's Relu gradient).
EXPORT(lenet_relu_grad)
void lenet_relu_grad(const f32 *x, const f32 *dy, f32 *dx, i32 len) {
  const v128_t one = wasm_f32x4_splat(1.0f), zero = wasm_f32x4_splat(0.0f);
  i32 i = 0;
  for (; i + 4 <= len; i += 4) {
    const v128_t v = wasm_v128_load(x + i);
    v128_t step = wasm_v128_bitselect(one, zero, wasm_f32x4_gt(v, zero));
    step = wasm_v128_bitselect(v, step, wasm_f32x4_ne(v, v));
    wasm_v128_store(dx + i, wasm_f32x4_mul(wasm_v128_load(dy + i), step));
  }
  for (; i < len; i++) {
    const f32 v = x[i];
    dx[i] = dy[i] * (v != v ? v : v > 0.0f ? 1.0f : 0.0f);
  }
}

// ---------------------------------------------------------------------------------------------
// Pooling gradients

// AvgPoolGrad: every dy value times scale added to each input pixel of its window.
EXPORT(lenet_avg_pool_grad)
void lenet_avg_pool_grad(const f32 *dy, f32 *dx, i32 n, i32 ih, i32 iw, i32 c, i32 oh, i32 ow, i32 sh, i32 sw, i32 fh,
                         i32 fw, i32 top, i32 left, f32 scale) {
  __builtin_memset(dx, 0, (uint32_t)(n * ih * iw * c) * 4u);
  if (fh == 2 && fw == 2 && sh == 2 && sw == 2 && top == 0 && left == 0 && 2 * oh <= ih && 2 * ow <= iw) {
    // LeNet's 2×2/2 pooling: disjoint windows, each input pixel gets one scaled dy value.
    const v128_t sv = wasm_f32x4_splat(scale);
    const i32 row = iw * c;
    const f32 *g = dy;
    for (i32 b = 0; b < n; b++)
      for (i32 y = 0; y < oh; y++)
        for (i32 x = 0; x < ow; x++, g += c) {
          f32 *d = dx + ((b * ih + 2 * y) * iw + 2 * x) * c;
          i32 k = 0;
          for (; k + 4 <= c; k += 4) {
            const v128_t v = wasm_f32x4_mul(wasm_v128_load(g + k), sv);
            wasm_v128_store(d + k, v);
            wasm_v128_store(d + c + k, v);
            wasm_v128_store(d + row + k, v);
            wasm_v128_store(d + row + c + k, v);
          }
          for (; k < c; k++) d[k] = d[c + k] = d[row + k] = d[row + c + k] = g[k] * scale;
        }
    return;
  }
  const f32 *g = dy;
  for (i32 b = 0; b < n; b++) {
    f32 *image = dx + b * ih * iw * c;
    for (i32 y = 0; y < oh; y++) {
      const i32 h0 = y * sh - top;
      const i32 hs = h0 < 0 ? 0 : h0, he = h0 + fh > ih ? ih : h0 + fh;
      for (i32 x = 0; x < ow; x++, g += c) {
        const i32 w0 = x * sw - left;
        const i32 ws = w0 < 0 ? 0 : w0, we = w0 + fw > iw ? iw : w0 + fw;
        for (i32 h = hs; h < he; h++)
          for (i32 w = ws; w < we; w++) {
            f32 *d = image + (h * iw + w) * c;
            for (i32 ch = 0; ch < c; ch++) d[ch] += g[ch] * scale;
          }
      }
    }
  }
}

// Picks the later candidate where it is strictly greater (so the first maximum wins; NaN never
// wins), on the bits: V8 compiles a float select to a branch, which mispredicts on activations.
INLINE void keep_max(f32 v, i32 idx, f32 *bestValue, i32 *best) {
  const i32 mask = -(i32)(v > *bestValue);
  *best = (idx & mask) | (*best & ~mask);
  const i32 bits = (__builtin_bit_cast(i32, v) & mask) | (__builtin_bit_cast(i32, *bestValue) & ~mask);
  *bestValue = __builtin_bit_cast(f32, bits);
}

// 2×2 windows with stride 2 and no padding (LeNet's pooling): 4 channels at a time, dx written
// once per window position (the windows do not overlap), rows/columns outside any window stay 0.
static void max_pool_grad_2x2(const f32 *dy, const f32 *xin, f32 *dx, i32 n, i32 ih, i32 iw, i32 c, i32 oh, i32 ow) {
  const i32 row = iw * c;
  const f32 *g = dy;
  for (i32 b = 0; b < n; b++)
    for (i32 y = 0; y < oh; y++)
      for (i32 x = 0; x < ow; x++, g += c) {
        const i32 p0 = ((b * ih + 2 * y) * iw + 2 * x) * c;
        const i32 p1 = p0 + c, p2 = p0 + row, p3 = p0 + row + c;
        i32 k = 0;
        for (; k + 4 <= c; k += 4) {
          const v128_t a0 = wasm_v128_load(xin + p0 + k), a1 = wasm_v128_load(xin + p1 + k);
          const v128_t a2 = wasm_v128_load(xin + p2 + k), a3 = wasm_v128_load(xin + p3 + k);
          const v128_t w1 = wasm_f32x4_gt(a1, a0);
          const v128_t m1 = wasm_v128_bitselect(a1, a0, w1);
          const v128_t w2 = wasm_f32x4_gt(a2, m1);
          const v128_t m2 = wasm_v128_bitselect(a2, m1, w2);
          const v128_t w3 = wasm_f32x4_gt(a3, m2);
          // Position j takes the gradient when it won and no later position beat it.
          const v128_t t3 = w3, t2 = wasm_v128_andnot(w2, w3), t1 = wasm_v128_andnot(wasm_v128_andnot(w1, w2), w3);
          const v128_t t0 = wasm_v128_not(wasm_v128_or(wasm_v128_or(w1, w2), w3));
          const v128_t gv = wasm_v128_load(g + k);
          wasm_v128_store(dx + p0 + k, wasm_v128_and(gv, t0));
          wasm_v128_store(dx + p1 + k, wasm_v128_and(gv, t1));
          wasm_v128_store(dx + p2 + k, wasm_v128_and(gv, t2));
          wasm_v128_store(dx + p3 + k, wasm_v128_and(gv, t3));
          // The last channels as one more vector ending at c (see lenet_pool_2x2).
          if (k + 4 < c && k + 8 > c && c >= 4) k = c - 8;
        }
        for (; k < c; k++) {
          i32 best = p0 + k;
          f32 bestValue = xin[best];
          keep_max(xin[p1 + k], p1 + k, &bestValue, &best);
          keep_max(xin[p2 + k], p2 + k, &bestValue, &best);
          keep_max(xin[p3 + k], p3 + k, &bestValue, &best);
          dx[p0 + k] = dx[p1 + k] = dx[p2 + k] = dx[p3 + k] = 0.0f;
          dx[best] = g[k];
        }
      }
}

// MaxPoolGrad: every dy value goes to the first maximum of its window (row-major), as tfjs's cpu.
EXPORT(lenet_max_pool_grad)
void lenet_max_pool_grad(const f32 *dy, const f32 *xin, f32 *dx, i32 n, i32 ih, i32 iw, i32 c, i32 oh, i32 ow, i32 sh,
                         i32 sw, i32 fh, i32 fw, i32 top, i32 left) {
  __builtin_memset(dx, 0, (uint32_t)(n * ih * iw * c) * 4u);
  if (fh == 2 && fw == 2 && sh == 2 && sw == 2 && top == 0 && left == 0 && 2 * oh <= ih && 2 * ow <= iw) {
    max_pool_grad_2x2(dy, xin, dx, n, ih, iw, c, oh, ow);
    return;
  }
  const f32 *g = dy;
  for (i32 b = 0; b < n; b++) {
    const i32 base = b * ih * iw * c;
    for (i32 y = 0; y < oh; y++) {
      const i32 h0 = y * sh - top;
      const i32 hs = h0 < 0 ? 0 : h0, he = h0 + fh > ih ? ih : h0 + fh;
      for (i32 x = 0; x < ow; x++, g += c) {
        const i32 w0 = x * sw - left;
        const i32 ws = w0 < 0 ? 0 : w0, we = w0 + fw > iw ? iw : w0 + fw;
        if (hs >= he || ws >= we) continue;
        for (i32 ch = 0; ch < c; ch++) {
          i32 best = base + (hs * iw + ws) * c + ch;
          f32 bestValue = xin[best];
          for (i32 h = hs; h < he; h++) {
            i32 idx = base + (h * iw + ws) * c + ch;
            for (i32 w = ws; w < we; w++, idx += c) keep_max(xin[idx], idx, &bestValue, &best);
          }
          dx[best] += g[ch];
        }
      }
    }
  }
}

// 2×2/2 pooling gradients: the columns past the last window of an input row pair, and the rows
// past the last window of an image, which no window covers (their gradient is 0).
INLINE void clear_uncovered_columns(f32 *rowPair, i32 iw, i32 c, i32 ow) {
  if (2 * ow >= iw) return;
  __builtin_memset(rowPair + 2 * ow * c, 0, (uint32_t)((iw - 2 * ow) * c) * 4u);
  __builtin_memset(rowPair + iw * c + 2 * ow * c, 0, (uint32_t)((iw - 2 * ow) * c) * 4u);
}
INLINE void clear_uncovered_rows(f32 *image, i32 ih, i32 row, i32 oh) {
  if (2 * oh < ih) __builtin_memset(image + 2 * oh * row, 0, (uint32_t)((ih - 2 * oh) * row) * 4u);
}

// 2×2/2 pooling gradients without padding, every dx value written once (no clearing pass first:
// that pass was a third of the traffic). kind 0: max, the gradient to the first maximum of each
// window (NaN never wins, as max_pool_grad_2x2), with one pmax per running maximum instead of a
// 3-instruction select and the four masks peeled off dy one after another; kind 1: average,
// dy · scale to every pixel. Rows and columns no window covers are cleared. Interleaved in the
// compiled step (load ~7): LeNet-5 b256's first max-pool gradient 1.50 → 1.00 ms, keras-baseline
// b64's 2.66 → 1.30.
EXPORT(lenet_pool_grad_2x2)
void lenet_pool_grad_2x2(const f32 *dy, const f32 *xin, f32 *dx, i32 n, i32 ih, i32 iw, i32 c, i32 oh, i32 ow, i32 kind,
                         f32 scale) {
  if (c < 4 || 2 * oh > ih || 2 * ow > iw) {
    if (kind == 0) lenet_max_pool_grad(dy, xin, dx, n, ih, iw, c, oh, ow, 2, 2, 2, 2, 0, 0);
    else lenet_avg_pool_grad(dy, dx, n, ih, iw, c, oh, ow, 2, 2, 2, 2, 0, 0, scale);
    return;
  }
  const i32 row = iw * c;
  const v128_t sv = wasm_f32x4_splat(scale);
  const f32 *g = dy;
  for (i32 b = 0; b < n; b++) {
    for (i32 y = 0; y < oh; y++) {
      const i32 r0 = (b * ih + 2 * y) * row;
      for (i32 x = 0; x < ow; x++, g += c) {
        const i32 p0 = r0 + 2 * x * c, p1 = p0 + c, p2 = p0 + row, p3 = p0 + row + c;
        for (i32 k = 0; k + 4 <= c; k += 4) {
          const v128_t gv = wasm_v128_load(g + k);
          if (kind == 0) {
            const v128_t a0 = wasm_v128_load(xin + p0 + k), a1 = wasm_v128_load(xin + p1 + k);
            const v128_t a2 = wasm_v128_load(xin + p2 + k), a3 = wasm_v128_load(xin + p3 + k);
            // wj: position j is strictly greater than the first maximum before it.
            const v128_t w1 = wasm_f32x4_gt(a1, a0);
            const v128_t m1 = wasm_f32x4_pmax(a0, a1);
            const v128_t w2 = wasm_f32x4_gt(a2, m1);
            const v128_t w3 = wasm_f32x4_gt(a3, wasm_f32x4_pmax(m1, a2));
            // Position j takes dy where it won and no later position did.
            const v128_t r3 = wasm_v128_andnot(gv, w3), r2 = wasm_v128_andnot(r3, w2);
            wasm_v128_store(dx + p0 + k, wasm_v128_andnot(r2, w1));
            wasm_v128_store(dx + p1 + k, wasm_v128_and(r2, w1));
            wasm_v128_store(dx + p2 + k, wasm_v128_and(r3, w2));
            wasm_v128_store(dx + p3 + k, wasm_v128_and(gv, w3));
          } else {
            const v128_t v = wasm_f32x4_mul(gv, sv);
            wasm_v128_store(dx + p0 + k, v);
            wasm_v128_store(dx + p1 + k, v);
            wasm_v128_store(dx + p2 + k, v);
            wasm_v128_store(dx + p3 + k, v);
          }
          // The last channels as one more vector ending at c (see lenet_pool_2x2).
          if (k + 4 < c && k + 8 > c) k = c - 8;
        }
      }
      clear_uncovered_columns(dx + r0, iw, c, ow);
    }
    clear_uncovered_rows(dx + b * ih * row, ih, row, oh);
  }
}

// ---------------------------------------------------------------------------------------------
// Broadcasting along the last axis, and reductions over the leading axes. Both walk the data in
// tiles of t = lcm(c, 4) floats (t / c rows), so that every vector lines up with the channel
// pattern; `tile` is a caller-provided buffer of t floats.

// tile = b repeated t / c times.
EXPORT(lenet_fill_tile)
void lenet_fill_tile(const f32 *b, f32 *tile, i32 c, i32 t) {
  for (i32 i = 0; i < t; i++) tile[i] = b[i % c];
}

#define BINARY_ROWS(NAME, VOP, SOP)                                                                       \
  static void NAME(const f32 *a, const f32 *tile, const f32 *b, f32 *out, i32 total, i32 c, i32 t) {   \
    i32 i = 0;                                                                                            \
    for (; i + t <= total; i += t)                                                                        \
      for (i32 k = 0; k < t; k += 4) {                                                                    \
        const v128_t x = wasm_v128_load(a + i + k), y = wasm_v128_load(tile + k);                        \
        wasm_v128_store(out + i + k, VOP);                                                                \
      }                                                                                                   \
    for (; i < total; i++) {                                                                              \
      const f32 x = a[i], y = b[i % c];                                                                   \
      out[i] = SOP;                                                                                       \
    }                                                                                                     \
  }

BINARY_ROWS(rows_add, wasm_f32x4_add(x, y), x + y)
BINARY_ROWS(rows_sub, wasm_f32x4_sub(x, y), x - y)
BINARY_ROWS(rows_rsub, wasm_f32x4_sub(y, x), y - x)
BINARY_ROWS(rows_mul, wasm_f32x4_mul(x, y), x * y)
BINARY_ROWS(rows_div, wasm_f32x4_div(x, y), x / y)
BINARY_ROWS(rows_rdiv, wasm_f32x4_div(y, x), y / x)

// out = a OP b with a [total / c, c] and b [c] broadcast over rows; op: 0 a+b, 1 a−b, 2 b−a,
// 3 a·b, 4 a/b, 5 b/a. tile: b repeated (lenet_fill_tile).
EXPORT(lenet_binary_rows)
void lenet_binary_rows(const f32 *a, const f32 *tile, const f32 *b, f32 *out, i32 total, i32 c, i32 t, i32 op) {
  switch (op) {
    case 0: rows_add(a, tile, b, out, total, c, t); break;
    case 1: rows_sub(a, tile, b, out, total, c, t); break;
    case 2: rows_rsub(a, tile, b, out, total, c, t); break;
    case 3: rows_mul(a, tile, b, out, total, c, t); break;
    case 4: rows_div(a, tile, b, out, total, c, t); break;
    default: rows_rdiv(a, tile, b, out, total, c, t); break;
  }
}

// lenet_sum_rows's loop over the values formed from x: x itself (mode 0), (x − mean)² (1) or
// dvar·((x − mean)·2) (2) — the same blocks, adds and order whatever the mode, so the sums of
// modes 1 and 2 are bit for bit those of writing the values out and summing them. Inlined with
// the mode known, each caller a loop of its own.
// sum_rows_of's term of a vector of x at tile offset k: x, (x − mean)², or dvar·((x − mean)·2).
INLINE v128_t sum_rows_term(v128_t v, const f32 *meanTile, const f32 *dvarTile, i32 mode, i32 k) {
  if (mode == 0) return v;
  const v128_t d = wasm_f32x4_sub(v, wasm_v128_load(meanTile + k));
  return mode == 1 ? wasm_f32x4_mul(d, d)
                   : wasm_f32x4_mul(wasm_v128_load(dvarTile + k), wasm_f32x4_mul(d, wasm_f32x4_splat(2.0f)));
}

// sum_rows_of's end: acc (t floats) folded per channel into out, the values from i to total (fewer
// than a tile) added one by one, and the division.
INLINE void sum_rows_finish(const f32 *x, const f32 *meanTile, const f32 *dvarTile, i32 mode, f32 *out, i32 i,
                            i32 total, i32 c, i32 t, f32 divisor, const f32 *acc) {
  for (i32 j = 0; j < c; j++) out[j] = 0.0f;
  for (i32 k = 0; k < t; k++) out[k % c] += acc[k];
  for (; i < total; i++) {
    const i32 k = i % c;
    f32 v = x[i];
    if (mode != 0) {
      const f32 d = v - meanTile[k];
      v = mode == 1 ? d * d : dvarTile[k] * (d * 2.0f);
    }
    out[k] += v;
  }
  if (divisor != 1.0f)
    for (i32 j = 0; j < c; j++) out[j] /= divisor;
}

INLINE void sum_rows_of(const f32 *x, const f32 *meanTile, const f32 *dvarTile, i32 mode, f32 *out, i32 rows, i32 c,
                        i32 t, f32 divisor, f32 *tile, f32 *acc) {
  const i32 total = rows * c;
  const i32 blockFloats = t * 64;
  __builtin_memset(acc, 0, (uint32_t)t * 4u);
  i32 i = 0;
  while (i + t <= total) {
    __builtin_memset(tile, 0, (uint32_t)t * 4u);
    const i32 end = i + blockFloats < total ? i + blockFloats : total;
    for (; i + t <= end; i += t)
      for (i32 k = 0; k < t; k += 4) {
        v128_t v = sum_rows_term(wasm_v128_load(x + i + k), meanTile, dvarTile, mode, k);
        wasm_v128_store(tile + k, wasm_f32x4_add(wasm_v128_load(tile + k), v));
      }
    for (i32 k = 0; k < t; k += 4)
      wasm_v128_store(acc + k, wasm_f32x4_add(wasm_v128_load(acc + k), wasm_v128_load(tile + k)));
  }
  sum_rows_finish(x, meanTile, dvarTile, mode, out, i, total, c, t, divisor, acc);
}

// Block sums of sum_rows_of, for splitting it between threads: blocks [first, first + count) of
// 64 tiles (the whole input's last one may be shorter; tiles: the whole input's full tiles), each
// block's tile sum (t floats) into out, one after the other. lenet_fold_block_sums then adds them
// up in order: bit for bit sum_rows_of, whichever thread summed which block.
EXPORT(lenet_block_sums)
void lenet_block_sums(const f32 *x, const f32 *meanTile, const f32 *dvarTile, i32 mode, f32 *out, i32 first, i32 count,
                      i32 tiles, i32 t) {
  for (i32 b = first; b < first + count; b++) {
    f32 *tile = out + (b - first) * t;
    __builtin_memset(tile, 0, (uint32_t)t * 4u);
    const i32 end = (b + 1) * 64 < tiles ? (b + 1) * 64 : tiles;
    for (i32 q = b * 64; q < end; q++) {
      const f32 *xq = x + q * t;
      for (i32 k = 0; k < t; k += 4) {
        v128_t v = sum_rows_term(wasm_v128_load(xq + k), meanTile, dvarTile, mode, k);
        wasm_v128_store(tile + k, wasm_f32x4_add(wasm_v128_load(tile + k), v));
      }
    }
  }
}

// sum_rows_of from lenet_block_sums' blocks (blocks of them, in order): out as sum_rows_of gives it.
EXPORT(lenet_fold_block_sums)
void lenet_fold_block_sums(const f32 *sums, i32 blocks, const f32 *x, const f32 *meanTile, const f32 *dvarTile,
                           i32 mode, f32 *out, i32 rows, i32 c, i32 t, f32 divisor, f32 *acc) {
  __builtin_memset(acc, 0, (uint32_t)t * 4u);
  for (i32 b = 0; b < blocks; b++)
    for (i32 k = 0; k < t; k += 4)
      wasm_v128_store(acc + k, wasm_f32x4_add(wasm_v128_load(acc + k), wasm_v128_load(sums + b * t + k)));
  const i32 total = rows * c;
  sum_rows_finish(x, meanTile, dvarTile, mode, out, total / t * t, total, c, t, divisor, acc);
}

// out[j] = (Σ_r src[r·c + j]) / divisor for src [rows, c]. Sums blocks of rows into `tile`
// (t floats) and the blocks into `acc` (t floats), which bounds float32 rounding to about
// (block + rows / block) ulps instead of rows.
EXPORT(lenet_sum_rows)
void lenet_sum_rows(const f32 *src, f32 *out, i32 rows, i32 c, i32 t, f32 divisor, f32 *tile, f32 *acc) {
  sum_rows_of(src, 0, 0, 0, out, rows, c, t, divisor, tile, acc);
}

// ---------------------------------------------------------------------------------------------
// Batch norm over the last axis (c channels), tiles of t = lcm(c, 4) floats as above.

// out = (x − mean)·gr + offset with gr = scale / √(variance + ε) precomputed per channel;
// meanTile, grTile, offsetTile: those per-channel values repeated over a tile.
EXPORT(lenet_batch_norm)
void lenet_batch_norm(const f32 *x, const f32 *meanTile, const f32 *grTile, const f32 *offsetTile, f32 *out,
                      i32 total, i32 c, i32 t) {
  i32 i = 0;
  for (; i + t <= total; i += t)
    for (i32 k = 0; k < t; k += 4) {
      const v128_t v = wasm_f32x4_sub(wasm_v128_load(x + i + k), wasm_v128_load(meanTile + k));
      wasm_v128_store(out + i + k,
                      wasm_f32x4_add(wasm_f32x4_mul(v, wasm_v128_load(grTile + k)), wasm_v128_load(offsetTile + k)));
    }
  for (; i < total; i++) {
    const i32 k = i % c;
    out[i] = (x[i] - meanTile[k]) * grTile[k] + offsetTile[k];
  }
}

// One output row of lenet_batch_norm_pool2; kind 0 max by pmax (one instruction; a NaN window's
// lanes reported in the returned mask, as lenet_max_pool_2x2 checks them), 1 average, 2 max with
// NaN winning (f32x4.max).
static v128_t batch_norm_pool2_row(const f32 *in, const f32 *meanTile, const f32 *grTile, const f32 *offsetTile,
                                   f32 *o, i32 row, i32 c, i32 ow, i32 kind) {
  const v128_t quarter = wasm_f32x4_splat(0.25f);
  v128_t bad = wasm_i32x4_splat(0);
  for (i32 xx = 0; xx < ow; xx++)
    for (i32 k = 0; k < c; k += 4) {
      const v128_t m = wasm_v128_load(meanTile + k), g = wasm_v128_load(grTile + k);
      const v128_t off = wasm_v128_load(offsetTile + k);
      const f32 *p = in + 2 * xx * c + k;
#define LENET_BN(v) wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_sub((v), m), g), off)
      const v128_t a0 = LENET_BN(wasm_v128_load(p)), a1 = LENET_BN(wasm_v128_load(p + c));
      const v128_t a2 = LENET_BN(wasm_v128_load(p + row)), a3 = LENET_BN(wasm_v128_load(p + row + c));
#undef LENET_BN
      v128_t r;
      if (kind == 0) {
        const v128_t s = wasm_f32x4_add(wasm_f32x4_add(a0, a1), wasm_f32x4_add(a2, a3));
        bad = wasm_v128_or(bad, wasm_f32x4_ne(s, s));
        r = wasm_f32x4_pmax(wasm_f32x4_pmax(a0, a1), wasm_f32x4_pmax(a2, a3));
      } else if (kind == 1) {
        r = wasm_f32x4_mul(wasm_f32x4_add(wasm_f32x4_add(a0, a1), wasm_f32x4_add(a2, a3)), quarter);
      } else {
        r = wasm_f32x4_max(wasm_f32x4_max(a0, a1), wasm_f32x4_max(a2, a3));
      }
      wasm_v128_store(o + xx * c + k, r);
    }
  return bad;
}

// lenet_batch_norm (c a multiple of 4: tiles of c floats) then the 2×2/2 pooling of its output
// without padding in one pass: x [n, ih, iw, c] → out [n, oh, ow, c] (oh ≤ ih/2, ow ≤ iw/2),
// kind 0 max (as lenet_max_pool_2x2: pmax, the row redone with NaN winning where a window holds
// a NaN), 1 average — the same float32 operations as the two kernels one after the other,
// without writing the normalised input.
EXPORT(lenet_batch_norm_pool2)
void lenet_batch_norm_pool2(const f32 *x, const f32 *meanTile, const f32 *grTile, const f32 *offsetTile, f32 *out,
                            i32 n, i32 ih, i32 iw, i32 c, i32 oh, i32 ow, i32 kind) {
  const i32 row = iw * c;
  for (i32 b = 0; b < n; b++)
    for (i32 y = 0; y < oh; y++) {
      const f32 *in = x + (b * ih + 2 * y) * row;
      f32 *o = out + (b * oh + y) * ow * c;
      const v128_t bad = batch_norm_pool2_row(in, meanTile, grTile, offsetTile, o, row, c, ow, kind);
      if (kind == 0 && wasm_v128_any_true(bad)) batch_norm_pool2_row(in, meanTile, grTile, offsetTile, o, row, c, ow, 2);
    }
}

// lenet_batch_norm_grad's scratch (work: block sums of dy and dy·(x − mean), then their totals,
// t floats each): a block's sums added to the totals, and the totals folded per channel.
INLINE void bn_grad_add_block(f32 *work, i32 t) {
  for (i32 k = 0; k < 2 * t; k += 4)
    wasm_v128_store(work + 2 * t + k, wasm_f32x4_add(wasm_v128_load(work + 2 * t + k), wasm_v128_load(work + k)));
}

INLINE void bn_grad_sums(const f32 *work, f32 *sumDy, f32 *sumDyXm, i32 c, i32 t) {
  for (i32 j = 0; j < c; j++) sumDy[j] = sumDyXm[j] = 0.0f;
  for (i32 k = 0; k < t; k++) {
    sumDy[k % c] += work[2 * t + k];
    sumDyXm[k % c] += work[3 * t + k];
  }
}

// The batch-norm gradient's one pass: dx = dy·gr, and per channel sumDy[j] = Σ dy and
// sumDyXm[j] = Σ dy·(x − mean) (blocked sums, as lenet_sum_rows). work: 4·t floats of scratch.
// dx 0: the sums alone (lenet_bn_dx_fused then forms dx).
EXPORT(lenet_batch_norm_grad)
void lenet_batch_norm_grad(const f32 *x, const f32 *dy, const f32 *meanTile, const f32 *grTile, f32 *dx, f32 *sumDy,
                           f32 *sumDyXm, i32 total, i32 c, i32 t, f32 *work) {
  f32 *blockDy = work, *blockDyXm = work + t, *accDy = work + 2 * t;
  const i32 blockFloats = t * 64;
  __builtin_memset(accDy, 0, (uint32_t)(2 * t) * 4u);
  i32 i = 0;
  while (i + t <= total) {
    __builtin_memset(blockDy, 0, (uint32_t)(2 * t) * 4u);
    const i32 end = i + blockFloats < total ? i + blockFloats : total;
    for (; i + t <= end; i += t)
      for (i32 k = 0; k < t; k += 4) {
        const v128_t g = wasm_v128_load(dy + i + k);
        const v128_t xm = wasm_f32x4_sub(wasm_v128_load(x + i + k), wasm_v128_load(meanTile + k));
        wasm_v128_store(blockDy + k, wasm_f32x4_add(wasm_v128_load(blockDy + k), g));
        wasm_v128_store(blockDyXm + k, wasm_f32x4_add(wasm_v128_load(blockDyXm + k), wasm_f32x4_mul(g, xm)));
        if (dx) wasm_v128_store(dx + i + k, wasm_f32x4_mul(g, wasm_v128_load(grTile + k)));
      }
    bn_grad_add_block(work, t);
  }
  bn_grad_sums(work, sumDy, sumDyXm, c, t);
  for (; i < total; i++) {
    const i32 k = i % c;
    const f32 g = dy[i];
    sumDy[k] += g;
    sumDyXm[k] += g * (x[i] - meanTile[k]);
    if (dx) dx[i] = g * grTile[k];
  }
}

// The training batch norm's variance without its buffer of squares: out = Σ (x − mean)² / divisor
// per channel, bit for bit lenet_sq_dev then lenet_sum_rows (one pass over x instead of three
// over x and the squares).
EXPORT(lenet_sum_sq_dev)
void lenet_sum_sq_dev(const f32 *x, const f32 *meanTile, f32 *out, i32 rows, i32 c, i32 t, f32 divisor, f32 *tile,
                      f32 *acc) {
  sum_rows_of(x, meanTile, 0, 1, out, rows, c, t, divisor, tile, acc);
}

// The variance path's sum without its buffer: out = Σ dvar·((x − mean)·2) per channel, bit for bit
// lenet_bn_var_grad then lenet_sum_rows (divisor 1).
EXPORT(lenet_bn_var_grad_sum)
void lenet_bn_var_grad_sum(const f32 *x, const f32 *meanTile, const f32 *dvarTile, f32 *out, i32 rows, i32 c, i32 t,
                           f32 *tile, f32 *acc) {
  sum_rows_of(x, meanTile, dvarTile, 2, out, rows, c, t, 1.0f, tile, acc);
}

// One pooled row's gradient scattered through its argmax bytes into the two input rows it came
// from (out [2, iw, c]), as lenet_relu_grad on the pooled values p (when p ≠ 0) then
// lenet_max_pool_grad_2x2_arg compute it: dy·step(p) at each window's argmax, +0 elsewhere.
static void bn_pool_scatter_row(const f32 *dyp, const f32 *p, const uint8_t *arg, f32 *out, i32 iw, i32 c) {
  const i32 row = iw * c, ow = iw / 2;
  const v128_t fone = wasm_f32x4_splat(1.0f), fzero = wasm_f32x4_splat(0.0f);
  const v128_t zero = wasm_i32x4_splat(0), one = wasm_i32x4_splat(1), two = wasm_i32x4_splat(2),
               three = wasm_i32x4_splat(3);
  for (i32 x = 0; x < ow; x++) {
    f32 *s0 = out + 2 * x * c;
    for (i32 k = 0; k + 4 <= c; k += 4) {
      v128_t g = wasm_v128_load(dyp + x * c + k);
      if (p) {
        const v128_t v = wasm_v128_load(p + x * c + k);
        v128_t step = wasm_v128_bitselect(fone, fzero, wasm_f32x4_gt(v, fzero));
        step = wasm_v128_bitselect(v, step, wasm_f32x4_ne(v, v));
        g = wasm_f32x4_mul(g, step);
      }
      const v128_t id = wasm_u32x4_extend_low_u16x8(wasm_u16x8_extend_low_u8x16(wasm_v128_load32_zero(arg + x * c + k)));
      wasm_v128_store(s0 + k, wasm_v128_and(g, wasm_i32x4_eq(id, zero)));
      wasm_v128_store(s0 + c + k, wasm_v128_and(g, wasm_i32x4_eq(id, one)));
      wasm_v128_store(s0 + row + k, wasm_v128_and(g, wasm_i32x4_eq(id, two)));
      wasm_v128_store(s0 + row + c + k, wasm_v128_and(g, wasm_i32x4_eq(id, three)));
      if (k + 4 < c && k + 8 > c) k = c - 8;
    }
  }
}

// One tile of the batch-norm gradient's sums: blockDy += dy, blockDyXm += dy·(x − mean).
INLINE void bn_grad_tile(f32 *blockDy, f32 *blockDyXm, const f32 *dy, const f32 *x, const f32 *meanTile, i32 t) {
  for (i32 k = 0; k < t; k += 4) {
    const v128_t g = wasm_v128_load(dy + k);
    const v128_t xm = wasm_f32x4_sub(wasm_v128_load(x + k), wasm_v128_load(meanTile + k));
    wasm_v128_store(blockDy + k, wasm_f32x4_add(wasm_v128_load(blockDy + k), g));
    wasm_v128_store(blockDyXm + k, wasm_f32x4_add(wasm_v128_load(blockDyXm + k), wasm_f32x4_mul(g, xm)));
  }
}

// The gradient of a fused batch norm + 2×2/2 max pooling (and the relu between when p ≠ 0; p: the
// pooled output) at the batch norm's output, scattered from the pooled gradient dyp and the argmax
// bytes a pair of input rows at a time, with lenet_batch_norm_grad's sums (dx not formed) over
// each pair while it is in cache: bit for bit the relu gradient, the scatter and
// lenet_batch_norm_grad one after the other. ih, iw even, c ≥ 4 (t divides 2·iw·c). full 1: the
// scattered gradient is kept in dy [n, ih, iw, c]; 0: dy holds one pair (2·iw·c floats), reused,
// and lenet_bn_dx_pool2 scatters again instead of reading a full-size gradient that is ¾ zeros.
EXPORT(lenet_batch_norm_grad_pool2)
void lenet_batch_norm_grad_pool2(const f32 *x, const f32 *dyp, const f32 *p, const uint8_t *arg, const f32 *meanTile,
                                 f32 *dy, i32 full, f32 *sumDy, f32 *sumDyXm, i32 n, i32 ih, i32 iw, i32 c, i32 t,
                                 f32 *work) {
  f32 *blockDy = work, *blockDyXm = work + t, *accDy = work + 2 * t;
  const i32 pair = 2 * iw * c, prow = iw / 2 * c, tiles = n * ih * iw * c / t;
  __builtin_memset(accDy, 0, (uint32_t)(2 * t) * 4u);
  i32 q = 0;  // tile index over the whole input, as lenet_batch_norm_grad's i / t
  for (i32 r = 0; r < n * ih / 2; r++) {
    f32 *d = full ? dy + r * pair : dy;
    bn_pool_scatter_row(dyp + r * prow, p ? p + r * prow : 0, arg + r * prow, d, iw, c);
    const f32 *xr = x + r * pair;
    for (i32 j = 0; j < pair; j += t, q++) {
      if (q % 64 == 0) __builtin_memset(blockDy, 0, (uint32_t)(2 * t) * 4u);
      bn_grad_tile(blockDy, blockDyXm, d + j, xr + j, meanTile, t);
      if (q % 64 == 63 || q == tiles - 1) bn_grad_add_block(work, t);
    }
  }
  bn_grad_sums(work, sumDy, sumDyXm, c, t);
}

// lenet_batch_norm_grad_pool2's sums split between threads: pairs of input rows [first, first +
// count), first·(2·iw·c / t) a multiple of 64 (a block boundary), scattered one pair at a time into
// `pair` (2·iw·c floats), each block's two sums (Σ dy, Σ dy·(x − mean): t floats each) into out
// (2·t floats a block, one block after the other). lenet_fold_bn_grad_blocks then adds them up
// in order: bit for bit lenet_batch_norm_grad_pool2's sums, whichever thread summed which block.
EXPORT(lenet_bn_grad_pool2_blocks)
void lenet_bn_grad_pool2_blocks(const f32 *x, const f32 *dyp, const f32 *p, const uint8_t *arg, const f32 *meanTile,
                                f32 *pair, f32 *out, i32 first, i32 count, i32 iw, i32 c, i32 t) {
  const i32 floats = 2 * iw * c, prow = iw / 2 * c, perPair = floats / t;
  const i32 q0 = first * perPair;
  for (i32 r = first; r < first + count; r++) {
    bn_pool_scatter_row(dyp + r * prow, p ? p + r * prow : 0, arg + r * prow, pair, iw, c);
    const f32 *xr = x + r * floats;
    for (i32 j = 0, q = r * perPair; j < floats; j += t, q++) {
      f32 *blockDy = out + (q / 64 - q0 / 64) * 2 * t, *blockDyXm = blockDy + t;
      if (q % 64 == 0) __builtin_memset(blockDy, 0, (uint32_t)(2 * t) * 4u);
      bn_grad_tile(blockDy, blockDyXm, pair + j, xr + j, meanTile, t);
    }
  }
}

// lenet_batch_norm_grad_pool2's sums from lenet_bn_grad_pool2_blocks' blocks (blocks of them, in
// order). work: 4·t floats, as there.
EXPORT(lenet_fold_bn_grad_blocks)
void lenet_fold_bn_grad_blocks(const f32 *sums, i32 blocks, f32 *sumDy, f32 *sumDyXm, i32 c, i32 t, f32 *work) {
  __builtin_memset(work + 2 * t, 0, (uint32_t)(2 * t) * 4u);
  for (i32 b = 0; b < blocks; b++) {
    __builtin_memcpy(work, sums + b * 2 * t, (uint32_t)(2 * t) * 4u);
    bn_grad_add_block(work, t);
  }
  bn_grad_sums(work, sumDy, sumDyXm, c, t);
}

// dx = (dy·gr + dvar·((x − mean)·2)) + dmean over `floats` values that start at a tile boundary
// (whole tiles of t; the rest, fewer than t, one by one).
INLINE void bn_dx_span(const f32 *x, const f32 *dy, const f32 *meanTile, const f32 *grTile, const f32 *dvarTile,
                       const f32 *dmeanTile, f32 *dx, i32 floats, i32 c, i32 t) {
  const v128_t two = wasm_f32x4_splat(2.0f);
  i32 i = 0;
  for (; i + t <= floats; i += t)
    for (i32 k = 0; k < t; k += 4) {
      const v128_t d = wasm_f32x4_sub(wasm_v128_load(x + i + k), wasm_v128_load(meanTile + k));
      const v128_t p = wasm_f32x4_mul(wasm_v128_load(dy + i + k), wasm_v128_load(grTile + k));
      const v128_t v = wasm_f32x4_mul(wasm_v128_load(dvarTile + k), wasm_f32x4_mul(d, two));
      wasm_v128_store(dx + i + k, wasm_f32x4_add(wasm_f32x4_add(p, v), wasm_v128_load(dmeanTile + k)));
    }
  for (; i < floats; i++) {
    const i32 k = i % c;
    dx[i] = (dy[i] * grTile[k] + dvarTile[k] * ((x[i] - meanTile[k]) * 2.0f)) + dmeanTile[k];
  }
}

// The batch-norm input gradient in one pass from dy and x, bit for bit lenet_batch_norm_grad's dx,
// lenet_bn_var_grad and lenet_bn_dx_sum: dx = (dy·gr + dvar·((x − mean)·2)) + dmean, without
// their two full-size buffers.
EXPORT(lenet_bn_dx_fused)
void lenet_bn_dx_fused(const f32 *x, const f32 *dy, const f32 *meanTile, const f32 *grTile, const f32 *dvarTile,
                       const f32 *dmeanTile, f32 *dx, i32 total, i32 c, i32 t) {
  bn_dx_span(x, dy, meanTile, grTile, dvarTile, dmeanTile, dx, total, c, t);
}

// lenet_bn_dx_fused with dy scattered anew from the pooled gradient a pair of input rows at a time
// into `pair` (2·iw·c floats), as lenet_batch_norm_grad_pool2 scatters it: the full-size dy is
// neither written nor read. Bit for bit the same dx. ih, iw even, c ≥ 4 (t divides 2·iw·c).
EXPORT(lenet_bn_dx_pool2)
void lenet_bn_dx_pool2(const f32 *x, const f32 *dyp, const f32 *p, const uint8_t *arg, const f32 *meanTile,
                       const f32 *grTile, const f32 *dvarTile, const f32 *dmeanTile, f32 *dx, f32 *pair, i32 n,
                       i32 ih, i32 iw, i32 c, i32 t) {
  const i32 floats = 2 * iw * c, prow = iw / 2 * c;
  for (i32 r = 0; r < n * ih / 2; r++) {
    bn_pool_scatter_row(dyp + r * prow, p ? p + r * prow : 0, arg + r * prow, pair, iw, c);
    bn_dx_span(x + r * floats, pair, meanTile, grTile, dvarTile, dmeanTile, dx + r * floats, floats, c, t);
  }
}

// ---------------------------------------------------------------------------------------------
// Conv2D forward, direct:  out[p, co] = Σ_r X[p, r] · W[r, co]  with r = (kh, kw, ci), which
// is W's own layout. PB neighbouring output pixels of a row × V vectors of 4 output channels are
// accumulated in registers over every r; X[p, r] is read from the (padded) input.

// Stores n (1–4) lanes of v at p.
INLINE void store_lanes(f32 *p, v128_t v, i32 n) {
  switch (n) {
    case 4: wasm_v128_store(p, v); break;
    case 3: wasm_v128_store64_lane(p, v, 0); wasm_v128_store32_lane(p + 2, v, 2); break;
    case 2: wasm_v128_store64_lane(p, v, 0); break;
    default: wasm_v128_store32_lane(p, v, 0); break;
  }
}

#define CONV_FORWARD(PB, V)                                                                               \
  static void conv_forward_##PB##x##V(const f32 *in, i32 colStep, const f32 *w, i32 co4, i32 kh, i32 kwci, \
                                      i32 wpci, f32 *out, i32 co, i32 lastLanes) {                        \
    v128_t acc[PB][V];                                                                                    \
    for (i32 p = 0; p < PB; p++)                                                                          \
      for (i32 v = 0; v < V; v++) acc[p][v] = wasm_f32x4_splat(0.0f);                                     \
    const f32 *wr = w;                                                                                    \
    for (i32 a = 0; a < kh; a++) {                                                                        \
      const f32 *row = in + a * wpci;                                                                     \
      for (i32 j = 0; j < kwci; j++, wr += co4) {                                                         \
        v128_t wv[V];                                                                                     \
        for (i32 v = 0; v < V; v++) wv[v] = wasm_v128_load(wr + 4 * v);                                  \
        for (i32 p = 0; p < PB; p++) {                                                                    \
          const v128_t s = wasm_v128_load32_splat(row + p * colStep + j);                                 \
          for (i32 v = 0; v < V; v++) acc[p][v] = LENET_MADD(acc[p][v], s, wv[v]);    \
        }                                                                                                 \
      }                                                                                                   \
    }                                                                                                     \
    for (i32 p = 0; p < PB; p++) {                                                                        \
      for (i32 v = 0; v < V - 1; v++) wasm_v128_store(out + p * co + 4 * v, acc[p][v]);                   \
      store_lanes(out + p * co + 4 * (V - 1), acc[p][V - 1], lastLanes);                                  \
    }                                                                                                     \
  }

CONV_FORWARD(4, 1)
CONV_FORWARD(4, 2)
CONV_FORWARD(2, 3)
CONV_FORWARD(2, 4)
CONV_FORWARD(1, 1)
CONV_FORWARD(1, 2)
CONV_FORWARD(1, 3)
CONV_FORWARD(1, 4)

// xp: input padded to [n, hp, wp, ci]; w: [kh, kw, ci, co4] (channels padded to a multiple of 4
// with zeros); out: [n, oh, ow, co] (exact: partial vectors stored lane by lane).
EXPORT(lenet_conv_forward)
void lenet_conv_forward(const f32 *xp, const f32 *w, f32 *out, i32 n, i32 hp, i32 wp, i32 ci, i32 oh, i32 ow, i32 co,
                        i32 co4, i32 kh, i32 kw, i32 sh, i32 sw) {
  const i32 wpci = wp * ci, kwci = kw * ci, colStep = sw * ci;
  for (i32 cb = 0; cb < co4; cb += 16) {
    const i32 vecs = (co4 - cb) / 4 < 4 ? (co4 - cb) / 4 : 4;
    const i32 lanes = co - cb - 4 * (vecs - 1) < 4 ? co - cb - 4 * (vecs - 1) : 4;
    const i32 block = vecs <= 2 ? 4 : 2;
    const f32 *wb = w + cb;
    for (i32 b = 0; b < n; b++)
      for (i32 y = 0; y < oh; y++) {
        const f32 *in = xp + (b * hp + y * sh) * wpci;
        f32 *o = out + ((b * oh + y) * ow) * co + cb;
        i32 x = 0;
        for (; x + block <= ow; x += block, in += block * colStep, o += block * co) {
          switch (vecs) {
            case 1: conv_forward_4x1(in, colStep, wb, co4, kh, kwci, wpci, o, co, lanes); break;
            case 2: conv_forward_4x2(in, colStep, wb, co4, kh, kwci, wpci, o, co, lanes); break;
            case 3: conv_forward_2x3(in, colStep, wb, co4, kh, kwci, wpci, o, co, lanes); break;
            default: conv_forward_2x4(in, colStep, wb, co4, kh, kwci, wpci, o, co, lanes); break;
          }
        }
        for (; x < ow; x++, in += colStep, o += co) {
          switch (vecs) {
            case 1: conv_forward_1x1(in, colStep, wb, co4, kh, kwci, wpci, o, co, lanes); break;
            case 2: conv_forward_1x2(in, colStep, wb, co4, kh, kwci, wpci, o, co, lanes); break;
            case 3: conv_forward_1x3(in, colStep, wb, co4, kh, kwci, wpci, o, co, lanes); break;
            default: conv_forward_1x4(in, colStep, wb, co4, kh, kwci, wpci, o, co, lanes); break;
          }
        }
      }
  }
}

// ---------------------------------------------------------------------------------------------
// 2×2 pooling with stride 2 and no padding, forward: 4 channels at a time.

// kind 0: max (NaN wins as in tfjs's max: a NaN input gives NaN), 1: average.
EXPORT(lenet_pool_2x2)
void lenet_pool_2x2(const f32 *x, f32 *out, i32 n, i32 ih, i32 iw, i32 c, i32 oh, i32 ow, i32 kind) {
  const i32 row = iw * c;
  const v128_t quarter = wasm_f32x4_splat(0.25f);
  f32 *o = out;
  for (i32 b = 0; b < n; b++)
    for (i32 y = 0; y < oh; y++)
      for (i32 xx = 0; xx < ow; xx++, o += c) {
        const f32 *p = x + ((b * ih + 2 * y) * iw + 2 * xx) * c;
        i32 k = 0;
        for (; k + 4 <= c; k += 4) {
          const v128_t a0 = wasm_v128_load(p + k), a1 = wasm_v128_load(p + c + k);
          const v128_t a2 = wasm_v128_load(p + row + k), a3 = wasm_v128_load(p + row + c + k);
          const v128_t r = kind == 0 ? wasm_f32x4_max(wasm_f32x4_max(a0, a1), wasm_f32x4_max(a2, a3))
                                     : wasm_f32x4_mul(wasm_f32x4_add(wasm_f32x4_add(a0, a1), wasm_f32x4_add(a2, a3)), quarter);
          wasm_v128_store(o + k, r);
          // With c ≥ 4 the last channels are one more vector ending at c, overlapping the one
          // before it (same values for the channels both hold): no scalar NaN-aware tail.
          if (k + 4 < c && k + 8 > c && c >= 4) k = c - 8;
        }
        for (; k < c; k++) {
          const f32 a0 = p[k], a1 = p[c + k], a2 = p[row + k], a3 = p[row + c + k];
          if (kind == 0) {
            const f32 m01 = a0 != a0 ? a0 : a1 != a1 ? a1 : a0 > a1 ? a0 : a1;
            const f32 m23 = a2 != a2 ? a2 : a3 != a3 ? a3 : a2 > a3 ? a2 : a3;
            o[k] = m01 != m01 ? m01 : m23 != m23 ? m23 : m01 > m23 ? m01 : m23;
          } else {
            o[k] = ((a0 + a1) + (a2 + a3)) * 0.25f;
          }
        }
      }
}

// ---------------------------------------------------------------------------------------------
// Inference's direct convolution (stride 1) with the 2×2/2 pooling after it fused in: each
// pooled value's 2×2 block of conv outputs is accumulated in registers, gets the bias and
// activation and is pooled there, and only the pooled value is written. Every float operation is
// the unfused passes' (lenet_conv_forward's sums from 0 in the same order, lenet_bias_act's add
// and relu, lenet_tanh's arithmetic, then the pooling kernel's), so the result is theirs bit for
// bit. Conv outputs of an odd last row or column, which the pooling drops, are not computed.

#define TANH_ARGS f32 a1, f32 a3, f32 a5, f32 a7, f32 a9

// lenet_bias_act (+ bias, relu) and lenet_tanh on one vector. act: 0 linear, 1 relu, 2 or 3 tanh.
INLINE v128_t conv_pool_act(v128_t v, const f32 *bias, i32 act, v128_t a1, v128_t a3, v128_t a5, v128_t a7, v128_t a9) {
  if (bias) v = wasm_f32x4_add(v, wasm_v128_load(bias));
  if (act == 1) return wasm_f32x4_pmax(v, wasm_f32x4_splat(0.0f));
  return act >= 2 ? tanh_vec(v, a1, a3, a5, a7, a9) : v;
}

// conv_pool_act's tanh of lanes 0–1 of u and of w (vectors whose lanes 2–3 are padding
// channels), as one vector: *yu gets u's in lanes 0–1, *yw w's (lanes 2–3 of both: junk).
// Lane for lane the same operations, so the same values; half the tanh work.
INLINE void conv_pool_tanh_halves(v128_t u, v128_t w, const f32 *bias, v128_t a1, v128_t a3, v128_t a5, v128_t a7,
                                  v128_t a9, v128_t *yu, v128_t *yw) {
  v128_t p = wasm_i32x4_shuffle(u, w, 0, 1, 4, 5);
  if (bias) {
    const v128_t bv = wasm_v128_load(bias);
    p = wasm_f32x4_add(p, wasm_i32x4_shuffle(bv, bv, 0, 1, 0, 1));
  }
  p = tanh_vec(p, a1, a3, a5, a7, a9);
  *yu = p;
  *yw = wasm_i32x4_shuffle(p, p, 2, 3, 2, 3);
}

// The pooling of a 2×2 window a0 a1 / a2 a3, lane by lane, as the pooling kernels compute it.
// pool 0: lenet_max_pool_2x2 (first maximum; the caller checks the window's sum for a NaN and
// then redoes the output row with pool 2), 1: average, 2: lenet_pool_2x2's vector
// max (NaN wins), 3: lenet_pool_2x2's scalar max (fewer than 4 channels).
INLINE v128_t conv_pool_window(v128_t a0, v128_t a1, v128_t a2, v128_t a3, i32 pool) {
  if (pool == 0) return wasm_f32x4_pmax(wasm_f32x4_pmax(a0, a1), wasm_f32x4_pmax(a2, a3));
  if (pool == 1)
    return wasm_f32x4_mul(wasm_f32x4_add(wasm_f32x4_add(a0, a1), wasm_f32x4_add(a2, a3)), wasm_f32x4_splat(0.25f));
  if (pool == 2) return wasm_f32x4_max(wasm_f32x4_max(a0, a1), wasm_f32x4_max(a2, a3));
  // a != a ? a : b != b ? b : a > b ? a : b, per lane.
#define SCALAR_MAX(A, B)                                                                                  \
  wasm_v128_bitselect(A, wasm_v128_bitselect(B, wasm_v128_bitselect(A, B, wasm_f32x4_gt(A, B)), wasm_f32x4_ne(B, B)), \
                      wasm_f32x4_ne(A, A))
  const v128_t m01 = SCALAR_MAX(a0, a1), m23 = SCALAR_MAX(a2, a3);
  return SCALAR_MAX(m01, m23);
#undef SCALAR_MAX
}

// Which of a 2×2 window's values is its first maximum, lane by lane, as lenet_max_pool_2x2_arg
// keeps it (0–3 row-major, NaN never wins), narrowed to the bytes of lane 0.
INLINE uint32_t conv_pool_argmax(v128_t a0, v128_t a1, v128_t a2, v128_t a3) {
  const v128_t w1 = wasm_f32x4_gt(a1, a0), m1 = wasm_f32x4_pmax(a0, a1);
  const v128_t w2 = wasm_f32x4_gt(a2, m1), w3 = wasm_f32x4_gt(a3, wasm_f32x4_pmax(m1, a2));
  v128_t id = wasm_v128_bitselect(wasm_i32x4_splat(3),
                                  wasm_v128_bitselect(wasm_i32x4_splat(2), wasm_v128_and(w1, wasm_i32x4_splat(1)), w2), w3);
  id = wasm_u16x8_narrow_i32x4(id, id);
  return (uint32_t)wasm_i32x4_extract_lane(wasm_u8x16_narrow_i16x8(id, id), 0);
}

// The low `count` bytes of `v` to p (a memcpy from a local would take the C stack).
INLINE void store_bytes(uint8_t *p, uint32_t v, i32 count) {
  p[0] = (uint8_t)v;
  if (count > 1) p[1] = (uint8_t)(v >> 8);
  if (count > 2) p[2] = (uint8_t)(v >> 16);
  if (count > 3) p[3] = (uint8_t)(v >> 24);
}

// One pooled pixel's V vectors of 4 channels: the 2×2 conv outputs from `in` (the window's top
// left input), bias, activation, pooling; stored to out (the last vector's `lastLanes` lanes),
// and with `arg` each window's first maximum (a byte a channel, see conv_pool_argmax). Returns
// the lanes whose window sum is NaN (pool 0, or any pool with `arg`: a NaN conv output there;
// lastMask keeps the last vector's real lanes).
#define CONV_POOL(V)                                                                                       \
  static v128_t conv_pool_##V(const f32 *in, i32 ci, const f32 *w, i32 co4, i32 kh, i32 kwci, i32 wpci,    \
                              const f32 *bias, i32 act, TANH_ARGS, i32 pool, f32 *out, uint8_t *arg,       \
                              i32 lastLanes, v128_t lastMask, f32 *full, i32 fullRow, i32 fullCo) {        \
    const v128_t k1 = wasm_f32x4_splat(a1), k3 = wasm_f32x4_splat(a3), k5 = wasm_f32x4_splat(a5);          \
    const v128_t k7 = wasm_f32x4_splat(a7), k9 = wasm_f32x4_splat(a9);                                     \
    v128_t acc[4][V];                                                                                      \
    for (i32 p = 0; p < 4; p++)                                                                            \
      _Pragma("unroll") for (i32 v = 0; v < V; v++) acc[p][v] = wasm_f32x4_splat(0.0f);                    \
    const f32 *wr = w;                                                                                     \
    for (i32 a = 0; a < kh; a++) {                                                                         \
      const f32 *r0 = in + a * wpci, *r1 = r0 + wpci;                                                      \
      for (i32 j = 0; j < kwci; j++, wr += co4) {                                                          \
        v128_t wv[V];                                                                                      \
        _Pragma("unroll") for (i32 v = 0; v < V; v++) wv[v] = wasm_v128_load(wr + 4 * v);                  \
        const v128_t s0 = wasm_v128_load32_splat(r0 + j), s1 = wasm_v128_load32_splat(r0 + ci + j);        \
        const v128_t s2 = wasm_v128_load32_splat(r1 + j), s3 = wasm_v128_load32_splat(r1 + ci + j);        \
        _Pragma("unroll") for (i32 v = 0; v < V; v++) {                                                    \
          acc[0][v] = LENET_MADD(acc[0][v], s0, wv[v]);                                \
          acc[1][v] = LENET_MADD(acc[1][v], s1, wv[v]);                                \
          acc[2][v] = LENET_MADD(acc[2][v], s2, wv[v]);                                \
          acc[3][v] = LENET_MADD(acc[3][v], s3, wv[v]);                                \
        }                                                                                                  \
      }                                                                                                    \
    }                                                                                                      \
    v128_t bad = wasm_i32x4_splat(0);                                                                      \
    _Pragma("unroll") for (i32 v = 0; v < V; v++) {                                                        \
      const f32 *b = bias ? bias + 4 * v : 0;                                                              \
      v128_t y0, y1, y2, y3;                                                                               \
      if (act == 3 && v == V - 1 && lastLanes <= 2) {                                                      \
        /* Two real lanes (6 channels: 8 computed): two pixels' tanh in one vector. */                     \
        conv_pool_tanh_halves(acc[0][v], acc[1][v], b, k1, k3, k5, k7, k9, &y0, &y1);                      \
        conv_pool_tanh_halves(acc[2][v], acc[3][v], b, k1, k3, k5, k7, k9, &y2, &y3);                      \
      } else {                                                                                             \
        y0 = conv_pool_act(acc[0][v], b, act, k1, k3, k5, k7, k9);                                         \
        y1 = conv_pool_act(acc[1][v], b, act, k1, k3, k5, k7, k9);                                         \
        y2 = conv_pool_act(acc[2][v], b, act, k1, k3, k5, k7, k9);                                         \
        y3 = conv_pool_act(acc[3][v], b, act, k1, k3, k5, k7, k9);                                         \
      }                                                                                                    \
      const v128_t r = conv_pool_window(y0, y1, y2, y3, pool);                                             \
      v128_t nan = wasm_i32x4_splat(0);                                                                    \
      if (pool == 0 || arg) {                                                                              \
        const v128_t s = wasm_f32x4_add(wasm_f32x4_add(y0, y1), wasm_f32x4_add(y2, y3));                   \
        nan = wasm_f32x4_ne(s, s);                                                                         \
      }                                                                                                    \
      const uint32_t ids = arg ? conv_pool_argmax(y0, y1, y2, y3) : 0;                                     \
      if (full) {                                                                                          \
        const i32 l = v < V - 1 ? 4 : lastLanes;                                                           \
        store_lanes(full + 4 * v, y0, l);                                                                  \
        store_lanes(full + fullCo + 4 * v, y1, l);                                                         \
        store_lanes(full + fullRow + 4 * v, y2, l);                                                        \
        store_lanes(full + fullRow + fullCo + 4 * v, y3, l);                                               \
      }                                                                                                    \
      if (v < V - 1) {                                                                                     \
        wasm_v128_store(out + 4 * v, r);                                                                   \
        if (arg) store_bytes(arg + 4 * v, ids, 4);                                                         \
        bad = wasm_v128_or(bad, nan);                                                                      \
      } else {                                                                                             \
        store_lanes(out + 4 * v, r, lastLanes);                                                            \
        if (arg) store_bytes(arg + 4 * v, ids, lastLanes);                                                 \
        bad = wasm_v128_or(bad, wasm_v128_and(nan, lastMask));                                             \
      }                                                                                                    \
    }                                                                                                      \
    return bad;                                                                                            \
  }

CONV_POOL(1)
CONV_POOL(2)

// One pooled output row (all channels) of image row `in` (the padded input's row 2y), with the
// row's argmax bytes when `arg`; returns the NaN lanes (see CONV_POOL).
static v128_t conv_pool_row(const f32 *in, const f32 *w, const f32 *bias, f32 *o, uint8_t *arg, i32 wp, i32 ci,
                            i32 pw, i32 co, i32 co4, i32 kh, i32 kw, i32 act, TANH_ARGS, i32 pool, f32 *full,
                            i32 fullRow) {
  const i32 wpci = wp * ci, kwci = kw * ci;
  v128_t bad = wasm_i32x4_splat(0);
  // Blocks of 8 channels: 4 pixels × 2 vectors of accumulators fill half the 16 registers.
  for (i32 cb = 0; cb < co4; cb += 8) {
    const i32 vecs = co4 - cb >= 8 ? 2 : 1;
    const i32 lanes = co - cb - 4 * (vecs - 1) < 4 ? co - cb - 4 * (vecs - 1) : 4;
    const v128_t lastMask = wasm_i32x4_gt(wasm_i32x4_splat(lanes), wasm_i32x4_make(0, 1, 2, 3));
    const f32 *b = bias ? bias + cb : 0;
    for (i32 x = 0; x < pw; x++) {
      const f32 *at = in + 2 * x * ci;
      f32 *out = o + x * co + cb;
      uint8_t *a = arg ? arg + x * co + cb : 0;
      f32 *f = full ? full + 2 * x * co + cb : 0;
      const v128_t nan = vecs == 2 ? conv_pool_2(at, ci, w + cb, co4, kh, kwci, wpci, b, act, a1, a3, a5, a7, a9,
                                                 pool, out, a, lanes, lastMask, f, fullRow, co)
                                   : conv_pool_1(at, ci, w + cb, co4, kh, kwci, wpci, b, act, a1, a3, a5, a7, a9,
                                                 pool, out, a, lanes, lastMask, f, fullRow, co);
      bad = wasm_v128_or(bad, nan);
    }
  }
  return bad;
}

// xp: input padded to [n, hp, wp, ci]; w: [kh, kw, ci, co4] (zero-padded channels); bias: co4
// floats (zero-padded) or 0 for none; out: [n, ph, pw, co], the 2×2/2 pooling of the stride-1
// convolution's first 2·ph rows and 2·pw columns. act: 0 linear, 1 relu, 2 tanh (a1…a9: the
// scaled numerator as lenet_tanh takes it), 3 tanh with conv_pool_tanh_halves where a block's
// last vector has at most 2 channels (the same values); pool: see conv_pool_window. Training (arg ≠ 0):
// arg [n, ph, pw, co] gets each window's first maximum as lenet_max_pool_2x2_arg keeps it, for
// lenet_max_pool_grad_2x2_arg, and nan[b] (an i32 per image) is 1 when image b had a window
// whose sum is NaN (a NaN conv output, or +∞ meeting −∞), else 0: the caller then redoes the
// batch unfused, whose relu gradient a NaN conv output reaches.
EXPORT(lenet_conv_forward_pool2)
void lenet_conv_forward_pool2(const f32 *xp, const f32 *w, const f32 *bias, f32 *out, uint8_t *arg, i32 *nan, i32 n,
                              i32 hp, i32 wp, i32 ci, i32 ph, i32 pw, i32 co, i32 co4, i32 kh, i32 kw, i32 act,
                              i32 pool, f32 a1, f32 a3, f32 a5, f32 a7, f32 a9) {
  for (i32 b = 0; b < n; b++) {
    v128_t any = wasm_i32x4_splat(0);
    for (i32 y = 0; y < ph; y++) {
      const f32 *in = xp + (b * hp + 2 * y) * wp * ci;
      f32 *o = out + (b * ph + y) * pw * co;
      uint8_t *a = arg ? arg + (b * ph + y) * pw * co : 0;
      const v128_t bad =
          conv_pool_row(in, w, bias, o, a, wp, ci, pw, co, co4, kh, kw, act, a1, a3, a5, a7, a9, pool, 0, 0);
      any = wasm_v128_or(any, bad);
      // As lenet_max_pool_2x2: a NaN anywhere in the row redoes it with the NaN-wins maximum.
      if (pool == 0 && wasm_v128_any_true(bad))
        conv_pool_row(in, w, bias, o, a, wp, ci, pw, co, co4, kh, kw, act, a1, a3, a5, a7, a9, 2, 0, 0);
    }
    if (arg) nan[b] = wasm_v128_any_true(any) ? 1 : 0;
  }
}

// lenet_conv_forward_pool2 for training's average pooling (pool 1): out as there, and full
// [n, 2·ph, 2·pw, co] gets the activated conv output itself (what the unfused conv stage writes),
// stored from the registers the pooling reads, for the activation's gradient. No argmax and no NaN
// flags: with every activated value kept, the backward pass is the unfused stages' whatever the
// values (see lenet_avg_pool_grad_2x2_tanh). The conv output is 2·ph × 2·pw (no dropped row).
EXPORT(lenet_conv_forward_pool2_full)
void lenet_conv_forward_pool2_full(const f32 *xp, const f32 *w, const f32 *bias, f32 *out, f32 *full, i32 n, i32 hp,
                                   i32 wp, i32 ci, i32 ph, i32 pw, i32 co, i32 co4, i32 kh, i32 kw, i32 act,
                                   f32 a1, f32 a3, f32 a5, f32 a7, f32 a9) {
  const i32 fullRow = 2 * pw * co;
  for (i32 b = 0; b < n; b++)
    for (i32 y = 0; y < ph; y++) {
      const f32 *in = xp + (b * hp + 2 * y) * wp * ci;
      f32 *o = out + (b * ph + y) * pw * co;
      f32 *f = full + ((b * ph + y) * 2) * fullRow;
      conv_pool_row(in, w, bias, o, 0, wp, ci, pw, co, co4, kh, kw, act, a1, a3, a5, a7, a9, 1, f, fullRow);
    }
}

// The 2×2/2 average pooling's gradient and tanh's in one pass: dx = (dy · scale) · (1 − y²) at
// each window's four places, the products lenet_pool_grad_2x2 (kind 1) then lenet_tanh_grad
// compute one after the other, without writing and reading back the scattered gradient. y: the
// tanh output [n, ih, iw, c]; dx [n, ih, iw, c], which may be y (each value read before it is
// written): the compiled step writes it over y, whose lines are then already in cache. Rows and
// columns no window covers are cleared (the unfused kernels give 0 · (1 − y²) there: the same
// unless y is NaN; the compiled step fuses only even sizes). Fewer than 4 channels: scalar.
EXPORT(lenet_avg_pool_grad_2x2_tanh)
void lenet_avg_pool_grad_2x2_tanh(const f32 *dy, const f32 *y, f32 *dx, i32 n, i32 ih, i32 iw, i32 c, i32 oh, i32 ow,
                                  f32 scale) {
  if (c < 4 || 2 * oh > ih || 2 * ow > iw) {
    const i32 row = iw * c;
    for (i32 b = 0; b < n; b++) {
      for (i32 yy = 0; yy < oh; yy++)
        for (i32 x = 0; x < ow; x++)
          for (i32 k = 0; k < c; k++) {
            const f32 v = dy[((b * oh + yy) * ow + x) * c + k] * scale;
            const i32 p0 = (b * ih + 2 * yy) * row + 2 * x * c + k;
            const i32 at[4] = {p0, p0 + c, p0 + row, p0 + row + c};
            for (i32 q = 0; q < 4; q++) dx[at[q]] = v * (1.0f - y[at[q]] * y[at[q]]);
          }
      for (i32 yy = 0; yy < oh; yy++) clear_uncovered_columns(dx + (b * ih + 2 * yy) * row, iw, c, ow);
      clear_uncovered_rows(dx + b * ih * row, ih, row, oh);
    }
    return;
  }
  const i32 row = iw * c;
  const v128_t sv = wasm_f32x4_splat(scale), one = wasm_f32x4_splat(1.0f);
  const f32 *g = dy;
  for (i32 b = 0; b < n; b++) {
    for (i32 yy = 0; yy < oh; yy++) {
      const i32 r0 = (b * ih + 2 * yy) * row;
      if (c % 4 == 2) {
        // c = 4m + 2 (LeNet's 6): a window row's two pixels are 2c = 8m + 4 floats, 2m + 1 whole
        // vectors: g[0, 4m), then g[4m, 4m + 2) and g[0, 2), then g[2, 4m + 2).
        const i32 m = c / 4;
        for (i32 x = 0; x < ow; x++, g += c) {
          const f32 *t0 = y + r0 + 2 * x * c, *t1 = t0 + row;
          f32 *d0 = dx + r0 + 2 * x * c, *d1 = d0 + row;
          for (i32 j = 0; j <= 2 * m; j++) {
            const v128_t gv = j < m ? wasm_v128_load(g + 4 * j)
                              : j == m ? wasm_i32x4_shuffle(wasm_v128_load(g + c - 4), wasm_v128_load(g), 2, 3, 4, 5)
                                       : wasm_v128_load(g + 2 + 4 * (j - m - 1));
            const v128_t v = wasm_f32x4_mul(gv, sv);
            const v128_t a = wasm_v128_load(t0 + 4 * j), e = wasm_v128_load(t1 + 4 * j);
            wasm_v128_store(d0 + 4 * j, wasm_f32x4_mul(v, wasm_f32x4_sub(one, wasm_f32x4_mul(a, a))));
            wasm_v128_store(d1 + 4 * j, wasm_f32x4_mul(v, wasm_f32x4_sub(one, wasm_f32x4_mul(e, e))));
          }
        }
        clear_uncovered_columns(dx + r0, iw, c, ow);
        continue;
      }
      for (i32 x = 0; x < ow; x++, g += c) {
        const i32 p0 = r0 + 2 * x * c, p1 = p0 + c, p2 = p0 + row, p3 = p0 + row + c;
        for (i32 k = 0; k + 4 <= c; k += 4) {
          const v128_t v = wasm_f32x4_mul(wasm_v128_load(g + k), sv);
          const v128_t t0 = wasm_v128_load(y + p0 + k), t1 = wasm_v128_load(y + p1 + k);
          const v128_t t2 = wasm_v128_load(y + p2 + k), t3 = wasm_v128_load(y + p3 + k);
          wasm_v128_store(dx + p0 + k, wasm_f32x4_mul(v, wasm_f32x4_sub(one, wasm_f32x4_mul(t0, t0))));
          wasm_v128_store(dx + p1 + k, wasm_f32x4_mul(v, wasm_f32x4_sub(one, wasm_f32x4_mul(t1, t1))));
          wasm_v128_store(dx + p2 + k, wasm_f32x4_mul(v, wasm_f32x4_sub(one, wasm_f32x4_mul(t2, t2))));
          wasm_v128_store(dx + p3 + k, wasm_f32x4_mul(v, wasm_f32x4_sub(one, wasm_f32x4_mul(t3, t3))));
          // The last channels as one more vector ending at c (see lenet_pool_2x2).
          if (k + 4 < c && k + 8 > c) k = c - 8;
        }
      }
      clear_uncovered_columns(dx + r0, iw, c, ow);
    }
    clear_uncovered_rows(dx + b * ih * row, ih, row, oh);
  }
}

// The filter gradient of a stride-1 3×3 conv2d whose 2×2/2 max pooling ran fused with it
// (lenet_conv_forward_pool2 with arg), straight from the pooled output's gradient: the conv
// output's gradient is dy at each window's first maximum (arg: 0–3 row-major) and +0 at the
// other three, so the gradient is never scattered to the conv output's size and read back.
// Each sum takes its terms in the order lenet_conv_filter_grad_wide takes them from the scattered
// gradient (conv output pixels in raster order, zeros included), so the result is bit for bit its.
// xp: input padded to [n, hp, wp, ci] (hp ≥ 2·ph + 2, wp ≥ 2·pw + 2); dy: [n, ph, pw, co] with
// the activation's gradient applied; arg: [n, ph, pw, co] bytes; co a multiple of 4; dw: [3, 3,
// ci, co], overwritten.
EXPORT(lenet_conv_filter_grad_pool2_arg)
void lenet_conv_filter_grad_pool2_arg(const f32 *xp, const f32 *dy, const uint8_t *arg, f32 *dw, i32 n, i32 hp,
                                      i32 wp, i32 ci, i32 ph, i32 pw, i32 co) {
  __builtin_memset(dw, 0, (uint32_t)(9 * ci * co) * 4u);
  const i32 wpci = wp * ci;
  for (i32 b = 0; b < n; b++)
    for (i32 c = 0; c < co; c += 4)
      for (i32 i = 0; i < ci; i++) {
        v128_t acc[9];
        _Pragma("clang loop unroll(full)") for (i32 t = 0; t < 9; t++) acc[t] = wasm_v128_load(dw + (t * ci + i) * co + c);
        for (i32 py = 0; py < ph; py++)
          // Conv output row 2·py + half holds the windows' maxima 2·half and 2·half + 1.
          for (i32 half = 0; half < 2; half++) {
            const f32 *row = xp + (b * hp + 2 * py + half) * wpci + i;
            const i32 o0 = ((b * ph + py) * pw) * co + c;
            const v128_t left = wasm_i32x4_splat(2 * half), right = wasm_i32x4_splat(2 * half + 1);
            for (i32 px = 0; px < pw; px++) {
              const v128_t d = wasm_v128_load(dy + o0 + px * co);
              const v128_t id =
                  wasm_u32x4_extend_low_u16x8(wasm_u16x8_extend_low_u8x16(wasm_v128_load32_zero(arg + o0 + px * co)));
              const v128_t g[2] = {wasm_v128_and(d, wasm_i32x4_eq(id, left)), wasm_v128_and(d, wasm_i32x4_eq(id, right))};
              const f32 *at = row + 2 * px * ci;
              _Pragma("clang loop unroll(full)") for (i32 j = 0; j < 2; j++)
                _Pragma("clang loop unroll(full)") for (i32 ky = 0; ky < 3; ky++)
                  _Pragma("clang loop unroll(full)") for (i32 kx = 0; kx < 3; kx++) {
                    const v128_t x = wasm_v128_load32_splat(at + ky * wpci + (j + kx) * ci);
                    acc[ky * 3 + kx] = LENET_MADD(acc[ky * 3 + kx], x, g[j]);
                  }
            }
          }
        _Pragma("clang loop unroll(full)") for (i32 t = 0; t < 9; t++) wasm_v128_store(dw + (t * ci + i) * co + c, acc[t]);
      }
}

// The bias gradient of the same layer: lenet_sum_rows (divisor 1, t = co) of the scattered
// gradient, block for block (64 conv output pixels a block, in raster order), from dy [n, ph, pw,
// co] and arg as lenet_conv_filter_grad_pool2_arg reads them (the conv output's width 2·pw even,
// so no block starts between a window's two columns); co a multiple of 4; tile and acc: co
// floats each. The scattered zeros are +0, and a sum started at +0 never becomes −0, so
// adding them changes nothing: each window row adds its one value per channel at its place.
EXPORT(lenet_sum_rows_pool2_arg)
void lenet_sum_rows_pool2_arg(const f32 *dy, const uint8_t *arg, f32 *out, i32 n, i32 ph, i32 pw, i32 co, f32 *tile,
                              f32 *acc) {
  __builtin_memset(acc, 0, (uint32_t)co * 4u);
  __builtin_memset(tile, 0, (uint32_t)co * 4u);
  i32 rows = 0;
  for (i32 b = 0; b < n; b++)
    for (i32 py = 0; py < ph; py++)
      for (i32 half = 0; half < 2; half++) {
        // Window row `half` (maxima 2·half, 2·half + 1): id / 2 == half.
        const v128_t want = wasm_i32x4_splat(half);
        for (i32 px = 0; px < pw; px++) {
          const i32 o = ((b * ph + py) * pw + px) * co;
          for (i32 k = 0; k < co; k += 4) {
            const v128_t id =
                wasm_u32x4_extend_low_u16x8(wasm_u16x8_extend_low_u8x16(wasm_v128_load32_zero(arg + o + k)));
            const v128_t row = wasm_i32x4_eq(wasm_u32x4_shr(id, 1), want);
            const v128_t v = wasm_v128_and(wasm_v128_load(dy + o + k), row);
            wasm_v128_store(tile + k, wasm_f32x4_add(wasm_v128_load(tile + k), v));
          }
          rows += 2;
          if (rows == 64) {
            for (i32 k = 0; k < co; k += 4) {
              wasm_v128_store(acc + k, wasm_f32x4_add(wasm_v128_load(acc + k), wasm_v128_load(tile + k)));
              wasm_v128_store(tile + k, wasm_f32x4_splat(0.0f));
            }
            rows = 0;
          }
        }
      }
  if (rows > 0)
    for (i32 k = 0; k < co; k += 4) wasm_v128_store(acc + k, wasm_f32x4_add(wasm_v128_load(acc + k), wasm_v128_load(tile + k)));
  for (i32 k = 0; k < co; k++) {
    out[k] = 0.0f;
    out[k] += acc[k];
  }
}

// out = src (len floats) repeated until total floats (total a multiple of len): copies doubling
// in size, so a small src costs O(log) memcpy calls.
EXPORT(lenet_repeat)
void lenet_repeat(const f32 *src, f32 *out, i32 len, i32 total) {
  if (len <= 0) return;
  __builtin_memcpy(out, src, (uint32_t)len * 4u);
  i32 done = len;
  while (done < total) {
    const i32 chunk = done < total - done ? done : total - done;
    __builtin_memcpy(out + done, out, (uint32_t)chunk * 4u);
    done += chunk;
  }
}

// Max pooling 2×2/2 forward with one maximum instruction per pair instead of NaN-propagating max
// (wasm's f32x4.max is ~8 x86 instructions for its NaN and ±0 rules; pmax is one): pmax keeps
// the earlier value on ties, so the result is the first maximum of the window in row-major order
// (the cpu backend's rule, zeros' sign included). A NaN in a window must give NaN: the sum of
// each window is NaN when one of its values is (or +∞ meets −∞, or it overflows), checked once
// an output row, which then is redone by lenet_pool_2x2 (NaN wins there). Interleaved in the
// compiled step (load ~7): LeNet-5 b256's first pool 0.44 → 0.25 ms, keras-deep's second 4.1 → 2.7.
EXPORT(lenet_max_pool_2x2)
void lenet_max_pool_2x2(const f32 *x, f32 *out, i32 n, i32 ih, i32 iw, i32 c, i32 oh, i32 ow) {
  if (c < 4) {
    lenet_pool_2x2(x, out, n, ih, iw, c, oh, ow, 0);
    return;
  }
  const i32 row = iw * c;
  for (i32 b = 0; b < n; b++)
    for (i32 y = 0; y < oh; y++) {
      const f32 *in = x + (b * ih + 2 * y) * row;
      f32 *o = out + (b * oh + y) * ow * c;
      v128_t bad = wasm_i32x4_splat(0);
      const f32 *p = in;
      f32 *q = o;
      for (i32 xx = 0; xx < ow; xx++, p += 2 * c, q += c)
        for (i32 k = 0; k + 4 <= c; k += 4) {
          const v128_t a0 = wasm_v128_load(p + k), a1 = wasm_v128_load(p + c + k);
          const v128_t a2 = wasm_v128_load(p + row + k), a3 = wasm_v128_load(p + row + c + k);
          const v128_t s = wasm_f32x4_add(wasm_f32x4_add(a0, a1), wasm_f32x4_add(a2, a3));
          bad = wasm_v128_or(bad, wasm_f32x4_ne(s, s));
          wasm_v128_store(q + k, wasm_f32x4_pmax(wasm_f32x4_pmax(a0, a1), wasm_f32x4_pmax(a2, a3)));
          // The last channels as one more vector ending at c (see lenet_pool_2x2).
          if (k + 4 < c && k + 8 > c) k = c - 8;
        }
      if (wasm_v128_any_true(bad)) lenet_pool_2x2(in, o, 1, 2, iw, c, 1, ow, 0);
    }
}

// lenet_max_pool_2x2 (c ≥ 4) that also keeps, for the gradient, which pixel of each window is
// its first maximum (0–3 row-major, one byte an output value; NaN never wins, as in
// lenet_pool_grad_2x2): the gradient then reads a byte instead of the window's four inputs. Pays
// where the input is far out of cache: interleaved in the compiled step (load ~7), keras-deep
// b256's pools forward + gradient 20.2 → 17.0 ms (25.7 MB input) and 8.1 → 6.3 ms (12.8 MB); not
// on LeNet-5 b256's 4.8 MB (1.53 → 1.65 ms).
EXPORT(lenet_max_pool_2x2_arg)
void lenet_max_pool_2x2_arg(const f32 *x, f32 *out, uint8_t *arg, i32 n, i32 ih, i32 iw, i32 c, i32 oh, i32 ow) {
  const i32 row = iw * c;
  const v128_t one = wasm_i32x4_splat(1), two = wasm_i32x4_splat(2), three = wasm_i32x4_splat(3);
  for (i32 b = 0; b < n; b++)
    for (i32 y = 0; y < oh; y++) {
      const f32 *in = x + (b * ih + 2 * y) * row;
      f32 *o = out + (b * oh + y) * ow * c;
      uint8_t *a = arg + (b * oh + y) * ow * c;
      v128_t bad = wasm_i32x4_splat(0);
      const f32 *p = in;
      for (i32 xx = 0; xx < ow; xx++, p += 2 * c)
        for (i32 k = 0; k + 4 <= c; k += 4) {
          const v128_t a0 = wasm_v128_load(p + k), a1 = wasm_v128_load(p + c + k);
          const v128_t a2 = wasm_v128_load(p + row + k), a3 = wasm_v128_load(p + row + c + k);
          const v128_t s = wasm_f32x4_add(wasm_f32x4_add(a0, a1), wasm_f32x4_add(a2, a3));
          bad = wasm_v128_or(bad, wasm_f32x4_ne(s, s));
          const v128_t w1 = wasm_f32x4_gt(a1, a0), m1 = wasm_f32x4_pmax(a0, a1);
          const v128_t w2 = wasm_f32x4_gt(a2, m1), m2 = wasm_f32x4_pmax(m1, a2);
          const v128_t w3 = wasm_f32x4_gt(a3, m2);
          wasm_v128_store(o + xx * c + k, wasm_f32x4_pmax(m2, a3));
          v128_t id = wasm_v128_bitselect(three, wasm_v128_bitselect(two, wasm_v128_and(w1, one), w2), w3);
          id = wasm_u16x8_narrow_i32x4(id, id);
          wasm_v128_store32_lane(a + xx * c + k, wasm_u8x16_narrow_i16x8(id, id), 0);
          // The last channels as one more vector ending at c (see lenet_pool_2x2).
          if (k + 4 < c && k + 8 > c) k = c - 8;
        }
      if (wasm_v128_any_true(bad)) lenet_pool_2x2(in, o, 1, 2, iw, c, 1, ow, 0);
    }
}

// The max-pool gradient from lenet_max_pool_2x2_arg's bytes (c ≥ 4), every dx value written once.
EXPORT(lenet_max_pool_grad_2x2_arg)
void lenet_max_pool_grad_2x2_arg(const f32 *dy, const uint8_t *arg, f32 *dx, i32 n, i32 ih, i32 iw, i32 c, i32 oh,
                                 i32 ow) {
  const i32 row = iw * c;
  const v128_t zero = wasm_i32x4_splat(0), one = wasm_i32x4_splat(1), two = wasm_i32x4_splat(2),
               three = wasm_i32x4_splat(3);
  for (i32 b = 0; b < n; b++) {
    for (i32 y = 0; y < oh; y++) {
      const i32 r0 = (b * ih + 2 * y) * row, o0 = (b * oh + y) * ow * c;
      for (i32 x = 0; x < ow; x++) {
        const i32 p0 = r0 + 2 * x * c, p1 = p0 + c, p2 = p0 + row, p3 = p0 + row + c;
        const f32 *g = dy + o0 + x * c;
        const uint8_t *a = arg + o0 + x * c;
        for (i32 k = 0; k + 4 <= c; k += 4) {
          const v128_t id = wasm_u32x4_extend_low_u16x8(wasm_u16x8_extend_low_u8x16(wasm_v128_load32_zero(a + k)));
          const v128_t gv = wasm_v128_load(g + k);
          wasm_v128_store(dx + p0 + k, wasm_v128_and(gv, wasm_i32x4_eq(id, zero)));
          wasm_v128_store(dx + p1 + k, wasm_v128_and(gv, wasm_i32x4_eq(id, one)));
          wasm_v128_store(dx + p2 + k, wasm_v128_and(gv, wasm_i32x4_eq(id, two)));
          wasm_v128_store(dx + p3 + k, wasm_v128_and(gv, wasm_i32x4_eq(id, three)));
          if (k + 4 < c && k + 8 > c) k = c - 8;
        }
      }
      clear_uncovered_columns(dx + r0, iw, c, ow);
    }
    clear_uncovered_rows(dx + b * ih * row, ih, row, oh);
  }
}

// Training's batch norm with the 2×2/2 max pooling after it (and a dropout mask and the relu
// between: mask ≠ 0, relu 1) in one pass: x [n, ih, iw, c] (ih, iw even, c ≥ 4) → out
// [n, ih/2, iw/2, c] and each window's first maximum in arg, every value as lenet_batch_norm,
// lenet_mul by the mask, lenet_relu (pmax with 0) and lenet_max_pool_2x2_arg compute it one after
// the other, without the full-size outputs. Returns 1 when a window's (masked) values sum to NaN
// (a NaN reaches the relu gradient, or the pool's NaN rule applies): the caller then redoes the
// step unfused; else 0.
EXPORT(lenet_batch_norm_pool2_arg)
i32 lenet_batch_norm_pool2_arg(const f32 *x, const f32 *meanTile, const f32 *grTile, const f32 *offsetTile, f32 *out,
                               uint8_t *arg, i32 n, i32 ih, i32 iw, i32 c, i32 relu, const f32 *mask) {
  const i32 row = iw * c, oh = ih / 2, ow = iw / 2;
  const v128_t zero = wasm_f32x4_splat(0.0f);
  v128_t bad = wasm_i32x4_splat(0);
  for (i32 b = 0; b < n; b++)
    for (i32 y = 0; y < oh; y++) {
      const f32 *in = x + (b * ih + 2 * y) * row;
      f32 *o = out + (b * oh + y) * ow * c;
      uint8_t *a = arg + (b * oh + y) * ow * c;
      for (i32 xx = 0; xx < ow; xx++)
        for (i32 k = 0; k + 4 <= c; k += 4) {
          const v128_t m = wasm_v128_load(meanTile + k), g = wasm_v128_load(grTile + k);
          const v128_t off = wasm_v128_load(offsetTile + k);
          const f32 *p = in + 2 * xx * c + k;
#define LENET_BN(v) wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_sub((v), m), g), off)
          v128_t a0 = LENET_BN(wasm_v128_load(p)), a1 = LENET_BN(wasm_v128_load(p + c));
          v128_t a2 = LENET_BN(wasm_v128_load(p + row)), a3 = LENET_BN(wasm_v128_load(p + row + c));
#undef LENET_BN
          if (mask) {
            const f32 *q = mask + (p - x);
            a0 = wasm_f32x4_mul(a0, wasm_v128_load(q));
            a1 = wasm_f32x4_mul(a1, wasm_v128_load(q + c));
            a2 = wasm_f32x4_mul(a2, wasm_v128_load(q + row));
            a3 = wasm_f32x4_mul(a3, wasm_v128_load(q + row + c));
          }
          const v128_t s = wasm_f32x4_add(wasm_f32x4_add(a0, a1), wasm_f32x4_add(a2, a3));
          bad = wasm_v128_or(bad, wasm_f32x4_ne(s, s));
          if (relu) {
            a0 = wasm_f32x4_pmax(a0, zero);
            a1 = wasm_f32x4_pmax(a1, zero);
            a2 = wasm_f32x4_pmax(a2, zero);
            a3 = wasm_f32x4_pmax(a3, zero);
          }
          wasm_v128_store(o + xx * c + k, wasm_f32x4_pmax(wasm_f32x4_pmax(wasm_f32x4_pmax(a0, a1), a2), a3));
          store_bytes(a + xx * c + k, conv_pool_argmax(a0, a1, a2, a3), 4);
          // The last channels as one more vector ending at c (see lenet_pool_2x2).
          if (k + 4 < c && k + 8 > c) k = c - 8;
        }
    }
  return wasm_v128_any_true(bad) ? 1 : 0;
}

// lenet_batch_norm_pool2_arg for a share of the images: writes 1 to *bad when it returns 1 (never 0,
// so that the threads of one split call can share the flag the caller cleared).
EXPORT(lenet_batch_norm_pool2_arg_flag)
void lenet_batch_norm_pool2_arg_flag(const f32 *x, const f32 *meanTile, const f32 *grTile, const f32 *offsetTile,
                                     f32 *out, uint8_t *arg, i32 n, i32 ih, i32 iw, i32 c, i32 relu, const f32 *mask,
                                     i32 *bad) {
  if (lenet_batch_norm_pool2_arg(x, meanTile, grTile, offsetTile, out, arg, n, ih, iw, c, relu, mask)) *bad = 1;
}

// ---------------------------------------------------------------------------------------------
// Dropout mask, the numbers tfjs's own dropout draws: seedrandom's Alea generator (state s0, s1,
// s2, c, seeded in JS from the seed string exactly as seedrandom does) gives u per element in
// order; tfjs stores u as float32, adds keep in float32, floors, and divides by keep.
// Alea's double arithmetic is exact integer arithmetic in disguise: every s is k/2^32 for a 32-bit
// k, 2091639·s0 has at most 53 significant bits, and so t = 2091639·s0 + c/2^32 is exactly
// (2091639·k0 + c)/2^32 — a lag-3 multiply-with-carry: x = 2091639·k0 + c, c = x >> 32,
// k = x mod 2^32. Done on 64-bit integers, the step that carries from one number to the next is
// an add and a shift instead of a multiply-add and two conversions (~6 → ~1.5 ns per number),
// and u = (float)k·2^-32 is the float32 of s2. The mask is bit for bit tfjs's (the build turns
// off floating-point contraction, so no float operation is fused).
EXPORT(lenet_dropout_mask)
void lenet_dropout_mask(f32 *out, i32 len, double s0, double s1, double s2, double c, f32 keep) {
  uint64_t k0 = (uint64_t)(s0 * 4294967296.0), k1 = (uint64_t)(s1 * 4294967296.0), k2 = (uint64_t)(s2 * 4294967296.0);
  uint64_t carry = (uint64_t)c;
  for (i32 i = 0; i < len; i++) {
    const uint64_t x = 2091639u * k0 + carry;
    k0 = k1;
    k1 = k2;
    carry = x >> 32;
    k2 = x & 0xffffffffu;
    const f32 u = (f32)(uint32_t)k2 * 2.3283064365386963e-10f;
    out[i] = __builtin_floorf(u + keep) / keep;
  }
}

// ---------------------------------------------------------------------------------------------
// Matrix product for the dense layers: C[m, n] = Σ_k A[m, k] · B[k, n] (+ bias[n], then relu
// when asked). A is read through strides (a transposed A is just other strides); B is [k, n4]
// with n4 = n rounded up to 4, zero-padded; bias has n4 floats. R rows × V vectors of 4 columns
// accumulate in registers over k.

// One tile: R rows × V vectors of C accumulated over k, started at INIT(v) (bias or zeros),
// B's row kk at BROW(kk); then relu when asked, stored at c (rows ldc apart).
#define GEMM_TILE(R, V, INIT, BROW)                                                                     \
  v128_t acc[R][V];                                                                                     \
  for (i32 r = 0; r < R; r++)                                                                           \
    for (i32 v = 0; v < V; v++) acc[r][v] = INIT(v);                                                    \
  for (i32 kk = 0; kk < k; kk++) {                                                                      \
    v128_t bv[V];                                                                                       \
    for (i32 v = 0; v < V; v++) bv[v] = wasm_v128_load(BROW(kk) + 4 * v);                               \
    for (i32 r = 0; r < R; r++) {                                                                       \
      const v128_t s = wasm_v128_load32_splat(a + r * aRow + kk * aCol);                                \
      for (i32 v = 0; v < V; v++) acc[r][v] = LENET_MADD(acc[r][v], s, bv[v]);      \
    }                                                                                                   \
  }                                                                                                     \
  for (i32 r = 0; r < R; r++) {                                                                         \
    if (relu)                                                                                           \
      for (i32 v = 0; v < V; v++) acc[r][v] = wasm_f32x4_pmax(acc[r][v], wasm_f32x4_splat(0.0f));       \
    for (i32 v = 0; v < V - 1; v++) wasm_v128_store(c + r * ldc + 4 * v, acc[r][v]);                    \
    store_lanes(c + r * ldc + 4 * (V - 1), acc[r][V - 1], lastLanes);                                   \
  }

#define GEMM_BIAS_INIT(v) (bias ? wasm_v128_load(bias + 4 * (v)) : wasm_f32x4_splat(0.0f))
#define GEMM_B_ROW(kk) (b + (kk) * n4)

#define GEMM_KERNEL(R, V)                                                                                 \
  static void gemm_##R##x##V(const f32 *a, i32 aRow, i32 aCol, const f32 *b, i32 n4, i32 k, const f32 *bias, \
                             i32 relu, f32 *c, i32 ldc, i32 lastLanes) {                                  \
    GEMM_TILE(R, V, GEMM_BIAS_INIT, GEMM_B_ROW)                                                           \
  }

GEMM_KERNEL(4, 1)
GEMM_KERNEL(4, 2)
GEMM_KERNEL(2, 3)
GEMM_KERNEL(2, 4)
GEMM_KERNEL(1, 1)
GEMM_KERNEL(1, 2)
GEMM_KERNEL(1, 3)
GEMM_KERNEL(1, 4)

// The rows of one column block: `block` rows at a time (4 for up to 2 vectors, else 2), then
// one; PFX names the kernels, the variadic arguments are their B arguments.
#define GEMM_ROWS(PFX, cp, ldc, ...)                                                               \
  i32 i = 0;                                                                                       \
  for (; i + block <= m; i += block) {                                                             \
    const f32 *ai = a + i * aRow;                                                                  \
    f32 *ci = (cp) + i * (ldc);                                                                    \
    switch (vecs) {                                                                                \
      case 1: PFX##4x1(ai, aRow, aCol, __VA_ARGS__, relu, ci, ldc, lanes); break;                  \
      case 2: PFX##4x2(ai, aRow, aCol, __VA_ARGS__, relu, ci, ldc, lanes); break;                  \
      case 3: PFX##2x3(ai, aRow, aCol, __VA_ARGS__, relu, ci, ldc, lanes); break;                  \
      default: PFX##2x4(ai, aRow, aCol, __VA_ARGS__, relu, ci, ldc, lanes); break;                 \
    }                                                                                              \
  }                                                                                                \
  for (; i < m; i++) {                                                                             \
    const f32 *ai = a + i * aRow;                                                                  \
    f32 *ci = (cp) + i * (ldc);                                                                    \
    switch (vecs) {                                                                                \
      case 1: PFX##1x1(ai, aRow, aCol, __VA_ARGS__, relu, ci, ldc, lanes); break;                  \
      case 2: PFX##1x2(ai, aRow, aCol, __VA_ARGS__, relu, ci, ldc, lanes); break;                  \
      case 3: PFX##1x3(ai, aRow, aCol, __VA_ARGS__, relu, ci, ldc, lanes); break;                  \
      default: PFX##1x4(ai, aRow, aCol, __VA_ARGS__, relu, ci, ldc, lanes); break;                 \
    }                                                                                              \
  }

EXPORT(lenet_gemm)
void lenet_gemm(const f32 *a, i32 aRow, i32 aCol, const f32 *b, f32 *c, i32 m, i32 n, i32 n4, i32 k, const f32 *bias,
                i32 relu) {
  for (i32 jb = 0; jb < n4; jb += 16) {
    const i32 vecs = (n4 - jb) / 4 < 4 ? (n4 - jb) / 4 : 4;
    const i32 lanes = n - jb - 4 * (vecs - 1) < 4 ? n - jb - 4 * (vecs - 1) : 4;
    const i32 block = vecs <= 2 ? 4 : 2;
    const f32 *bb = b + jb;
    const f32 *bias_b = bias ? bias + jb : 0;
    GEMM_ROWS(gemm_, c + jb, n, bb, n4, k, bias_b)
  }
}

// The same product with B packed in panels (lenet_pack_panels): panel p holds columns
// [16p, 16p + 16) as k + 1 rows of 16 floats, row 0 the bias (or zeros), then B's rows, columns
// past n zero. Its rows are contiguous, where B's own are n floats apart: the kernel streams one
// panel (16 floats a step) instead of touching a new line of a far row at every k, and a panel
// is what a thread takes when the product is split by columns. Column j of row i of C is at
// c + (j / 16) * panelStride + i * ldc + j % 16: C itself (ldc = n, panelStride = 16) or C in
// panels ([n16 / 16][m][16]: ldc = 16, panelStride = 16m) for a thread's share of the columns.

EXPORT(lenet_pack_panels)
void lenet_pack_panels(const f32 *src, i32 sRow, i32 sCol, const f32 *bias, f32 *dst, i32 k, i32 n) {
  for (i32 jb = 0; jb < n; jb += 16) {
    const i32 w = n - jb < 16 ? n - jb : 16;
    f32 *p = dst + (jb / 16) * (k + 1) * 16;
    __builtin_memset(p, 0, (uint32_t)(k + 1) * 64u);
    if (bias)
      for (i32 j = 0; j < w; j++) p[j] = bias[jb + j];
    if (sCol == 1) {
      for (i32 kk = 0; kk < k; kk++) __builtin_memcpy(p + 16 * (kk + 1), src + kk * sRow + jb, (uint32_t)w * 4u);
    } else {
      // A transposed source (Wᵀ): for each column, its elements are sRow apart.
      for (i32 j = 0; j < w; j++) {
        const f32 *col = src + (jb + j) * sCol;
        for (i32 kk = 0; kk < k; kk++) p[16 * (kk + 1) + j] = col[kk * sRow];
      }
    }
  }
}

#define GEMM_PANEL_INIT(v) wasm_v128_load(b + 4 * (v))
#define GEMM_PANEL_ROW(kk) (b + 16 * ((kk) + 1))

#define GEMM_PANEL_KERNEL(R, V)                                                                          \
  static void gemm_panel_##R##x##V(const f32 *a, i32 aRow, i32 aCol, const f32 *b, i32 k, i32 relu,     \
                                   f32 *c, i32 ldc, i32 lastLanes) {                                   \
    GEMM_TILE(R, V, GEMM_PANEL_INIT, GEMM_PANEL_ROW)                                                    \
  }

GEMM_PANEL_KERNEL(4, 1)
GEMM_PANEL_KERNEL(4, 2)
GEMM_PANEL_KERNEL(2, 3)
GEMM_PANEL_KERNEL(2, 4)
GEMM_PANEL_KERNEL(1, 1)
GEMM_PANEL_KERNEL(1, 2)
GEMM_PANEL_KERNEL(1, 3)
GEMM_PANEL_KERNEL(1, 4)

// C [m, n] = A [m, k] · B (+ bias, then relu) with B in panels; A read through strides as in
// lenet_gemm. 2 rows × 4 vectors is the largest tile: 8 accumulators, 4 B vectors, 2 splats and
// a product fill the 15 registers V8 gives wasm SIMD, and larger tiles measured slower (spills).
EXPORT(lenet_gemm_panels)
void lenet_gemm_panels(const f32 *a, i32 aRow, i32 aCol, const f32 *bp, f32 *c, i32 m, i32 n, i32 k, i32 relu,
                       i32 ldc, i32 panelStride) {
  for (i32 jb = 0; jb < n; jb += 16) {
    const i32 vecs = (n - jb + 3) / 4 < 4 ? (n - jb + 3) / 4 : 4;
    const i32 lanes = n - jb - 4 * (vecs - 1) < 4 ? n - jb - 4 * (vecs - 1) : 4;
    const i32 block = vecs <= 2 ? 4 : 2;
    const f32 *b = bp + (jb / 16) * (k + 1) * 16;
    GEMM_ROWS(gemm_panel_, c + (jb / 16) * panelStride, ldc, b, k)
  }
}

// Products over the nonzero entries of a dense layer's input only: MNIST's pixels are ~80 %
// zeros, and mlp2's first layer (784 → 100) then does a fifth of the multiply-adds, forward
// (x·W) and for the weight gradient (xᵀ·dy). A list holds, for each kept entry, its value and
// the offset (floats) of the row of B it multiplies; a row of C is bias + Σ value · B row over
// the list in k's order: the dense kernels' sums minus their terms 0·b, which add nothing where
// B is finite (callers check, and take the dense kernels otherwise). NaN entries are kept. B's
// rows are n floats, n a multiple of 4; C's rows are n floats; bias 0 or n floats.

// One block of V vectors of a row of C over a list of cnt entries.
#define GEMM_SPARSE_BLOCK(V)                                                                            \
  static void gemm_sparse_##V(const f32 *vals, const i32 *offs, i32 cnt, const f32 *b, const f32 *bias, \
                              i32 relu, f32 *c) {                                                       \
    v128_t acc[V];                                                                                      \
    for (i32 v = 0; v < V; v++) acc[v] = bias ? wasm_v128_load(bias + 4 * v) : wasm_f32x4_splat(0.0f);  \
    for (i32 t = 0; t < cnt; t++) {                                                                     \
      const v128_t s = wasm_v128_load32_splat(vals + t);                                                \
      const f32 *bk = b + offs[t];                                                                      \
      for (i32 v = 0; v < V; v++) acc[v] = LENET_MADD(acc[v], s, wasm_v128_load(bk + 4 * v)); \
    }                                                                                                   \
    for (i32 v = 0; v < V; v++)                                                                         \
      wasm_v128_store(c + 4 * v, relu ? wasm_f32x4_pmax(acc[v], wasm_f32x4_splat(0.0f)) : acc[v]);      \
  }

GEMM_SPARSE_BLOCK(1)
GEMM_SPARSE_BLOCK(2)
GEMM_SPARSE_BLOCK(3)
GEMM_SPARSE_BLOCK(4)
GEMM_SPARSE_BLOCK(5)
GEMM_SPARSE_BLOCK(6)
GEMM_SPARSE_BLOCK(7)
GEMM_SPARSE_BLOCK(8)

// A row of C [n] over a list, in blocks of equal width up to 8 vectors (25 vectors: 7, 6, 6, 6,
// not 8, 8, 8 and a lone one).
static void gemm_sparse_row(const f32 *vals, const i32 *offs, i32 cnt, const f32 *b, i32 n, const f32 *bias,
                            i32 relu, f32 *c) {
  const i32 vecs = n / 4;
  const i32 blocks = (vecs + 7) / 8;
  for (i32 q = 0, v0 = 0; q < blocks; q++) {
    const i32 w = (vecs - v0 + (blocks - q) - 1) / (blocks - q);
    const f32 *bq = b + 4 * v0;
    const f32 *biasq = bias ? bias + 4 * v0 : 0;
    f32 *cq = c + 4 * v0;
    switch (w) {
      case 1: gemm_sparse_1(vals, offs, cnt, bq, biasq, relu, cq); break;
      case 2: gemm_sparse_2(vals, offs, cnt, bq, biasq, relu, cq); break;
      case 3: gemm_sparse_3(vals, offs, cnt, bq, biasq, relu, cq); break;
      case 4: gemm_sparse_4(vals, offs, cnt, bq, biasq, relu, cq); break;
      case 5: gemm_sparse_5(vals, offs, cnt, bq, biasq, relu, cq); break;
      case 6: gemm_sparse_6(vals, offs, cnt, bq, biasq, relu, cq); break;
      case 7: gemm_sparse_7(vals, offs, cnt, bq, biasq, relu, cq); break;
      default: gemm_sparse_8(vals, offs, cnt, bq, biasq, relu, cq); break;
    }
    v0 += w;
  }
}

// C [m, n] = A [m, k] · B [k, n] (+ bias, then relu) over A's nonzero entries; list: 2k floats.
// A row's whole zero vectors (an image's empty border) are skipped with one test; in the others
// each lane is written to the list and kept (cnt advanced) where it is not zero, without a branch.
EXPORT(lenet_gemm_sparse_a)
void lenet_gemm_sparse_a(const f32 *a, const f32 *b, const f32 *bias, f32 *c, i32 m, i32 n, i32 k, i32 relu,
                         f32 *list) {
  const v128_t zero = wasm_f32x4_splat(0.0f);
  f32 *vals = list;
  i32 *offs = (i32 *)(list + k);
  for (i32 i = 0; i < m; i++) {
    const f32 *ai = a + i * k;
    i32 cnt = 0;
    i32 kk = 0;
    for (; kk + 4 <= k; kk += 4) {
      if (!wasm_v128_any_true(wasm_f32x4_ne(wasm_v128_load(ai + kk), zero))) continue;
      for (i32 l = 0; l < 4; l++) {
        vals[cnt] = ai[kk + l];
        offs[cnt] = (kk + l) * n;
        cnt += ai[kk + l] != 0.0f;
      }
    }
    for (; kk < k; kk++) {
      vals[cnt] = ai[kk];
      offs[cnt] = kk * n;
      cnt += ai[kk] != 0.0f;
    }
    gemm_sparse_row(vals, offs, cnt, b, n, bias, relu, c + i * n);
  }
}

// C [k, n] = Aᵀ · B with A [m, k] (rows lda floats apart: a share of columns read in place), B
// [m, n] (a dense layer's weight gradient xᵀ·dy, m the batch)
// over A's nonzero entries: A's columns as lists (values and B row offsets, image order), counted
// first, a spare slot after each column's so that a zero lane's write lands in its own column.
// list: 2 (k + 1) ints of counts and starts, then 2 (nnz + k) floats (nnz: A's nonzero entries).
EXPORT(lenet_gemm_sparse_at)
void lenet_gemm_sparse_at(const f32 *a, i32 lda, const f32 *b, f32 *c, i32 m, i32 n, i32 k, f32 *list) {
  const v128_t zero = wasm_f32x4_splat(0.0f);
  i32 *pos = (i32 *)list;
  i32 *start = pos + k + 1;
  for (i32 kk = 0; kk < k; kk++) pos[kk] = 0;
  for (i32 i = 0; i < m; i++) {
    const f32 *ai = a + i * lda;
    i32 kk = 0;
    for (; kk + 4 <= k; kk += 4) {
      if (!wasm_v128_any_true(wasm_f32x4_ne(wasm_v128_load(ai + kk), zero))) continue;
      for (i32 l = 0; l < 4; l++) pos[kk + l] += ai[kk + l] != 0.0f;
    }
    for (; kk < k; kk++) pos[kk] += ai[kk] != 0.0f;
  }
  i32 total = 0;
  for (i32 kk = 0; kk < k; kk++) {
    start[kk] = total;
    total += pos[kk] + 1;
    pos[kk] = start[kk];
  }
  start[k] = total;
  f32 *vals = list + 2 * (k + 1);
  i32 *offs = (i32 *)(vals + total);
  for (i32 i = 0; i < m; i++) {
    const f32 *ai = a + i * lda;
    i32 kk = 0;
    for (; kk + 4 <= k; kk += 4) {
      if (!wasm_v128_any_true(wasm_f32x4_ne(wasm_v128_load(ai + kk), zero))) continue;
      for (i32 l = 0; l < 4; l++) {
        const i32 p = pos[kk + l];
        vals[p] = ai[kk + l];
        offs[p] = i * n;
        pos[kk + l] = p + (ai[kk + l] != 0.0f);
      }
    }
    for (; kk < k; kk++) {
      const i32 p = pos[kk];
      vals[p] = ai[kk];
      offs[p] = i * n;
      pos[kk] = p + (ai[kk] != 0.0f);
    }
  }
  for (i32 kk = 0; kk < k; kk++)
    gemm_sparse_row(vals + start[kk], offs + start[kk], pos[kk] - start[kk], b, n, 0, 0, c + kk * n);
}

// The entries of x [len] that are not zero (NaN counted): whether a sparse product pays.
EXPORT(lenet_count_nonzero)
i32 lenet_count_nonzero(const f32 *x, i32 len) {
  const v128_t zero = wasm_f32x4_splat(0.0f);
  v128_t cnt = wasm_i32x4_splat(0);
  i32 i = 0;
  // ne gives -1 per nonzero lane.
  for (; i + 4 <= len; i += 4) cnt = wasm_i32x4_sub(cnt, wasm_f32x4_ne(wasm_v128_load(x + i), zero));
  i32 total = wasm_i32x4_extract_lane(cnt, 0) + wasm_i32x4_extract_lane(cnt, 1) + wasm_i32x4_extract_lane(cnt, 2) +
              wasm_i32x4_extract_lane(cnt, 3);
  for (; i < len; i++) total += x[i] != 0.0f;
  return total;
}

// 1 when every entry of x [len] is finite (v − v is 0 for those, NaN for ±Inf and NaN), else 0.
EXPORT(lenet_all_finite)
i32 lenet_all_finite(const f32 *x, i32 len) {
  v128_t bad = wasm_i32x4_splat(0);
  i32 i = 0;
  for (; i + 4 <= len; i += 4) {
    const v128_t v = wasm_v128_load(x + i);
    const v128_t d = wasm_f32x4_sub(v, v);
    bad = wasm_v128_or(bad, wasm_f32x4_ne(d, d));
  }
  i32 ok = !wasm_v128_any_true(bad);
  for (; i < len; i++) ok &= (x[i] - x[i]) == 0.0f;
  return ok;
}

// dst [cols, rows] = transpose of src [rows, cols], rows of dst padded to dstStride floats
// (the padding is left as it is: callers clear it).
EXPORT(lenet_transpose)
void lenet_transpose(const f32 *src, f32 *dst, i32 rows, i32 cols, i32 dstStride) {
  for (i32 i = 0; i < rows; i++)
    for (i32 j = 0; j < cols; j++) dst[j * dstStride + i] = src[i * cols + j];
}

// ---------------------------------------------------------------------------------------------
// Elementwise passes of the compiled training step (src/compiled): what tfjs runs as separate
// kernels (bias add then relu, x − mean then square, x · mask) in one pass each.

// out = x + b (b broadcast over rows of c channels; tile: b repeated, lenet_fill_tile), then
// relu when asked: v < 0 ? 0 : v (pmax, one instruction in V8), so a NaN stays NaN and reaches
// the non-finite check.
EXPORT(lenet_bias_act)
void lenet_bias_act(const f32 *x, const f32 *tile, const f32 *b, f32 *out, i32 total, i32 c, i32 t, i32 relu) {
  const v128_t zero = wasm_f32x4_splat(0.0f);
  i32 i = 0;
  for (; i + t <= total; i += t)
    for (i32 k = 0; k < t; k += 4) {
      v128_t v = wasm_f32x4_add(wasm_v128_load(x + i + k), wasm_v128_load(tile + k));
      if (relu) v = wasm_f32x4_pmax(v, zero);
      wasm_v128_store(out + i + k, v);
    }
  for (; i < total; i++) {
    const f32 v = x[i] + b[i % c];
    out[i] = relu && v < 0.0f ? 0.0f : v;
  }
}

// y = relu(x) as lenet_bias_act's, NaN kept.
EXPORT(lenet_relu)
void lenet_relu(const f32 *x, f32 *y, i32 len) {
  const v128_t zero = wasm_f32x4_splat(0.0f);
  i32 i = 0;
  for (; i + 4 <= len; i += 4) {
    wasm_v128_store(y + i, wasm_f32x4_pmax(wasm_v128_load(x + i), zero));
  }
  for (; i < len; i++) y[i] = x[i] < 0.0f ? 0.0f : x[i];
}

// out = (x − mean)² per channel (meanTile: the mean repeated over a tile), in float32 as tfjs's
// Sub then Square.
EXPORT(lenet_sq_dev)
void lenet_sq_dev(const f32 *x, const f32 *meanTile, f32 *out, i32 total, i32 c, i32 t) {
  i32 i = 0;
  for (; i + t <= total; i += t)
    for (i32 k = 0; k < t; k += 4) {
      const v128_t d = wasm_f32x4_sub(wasm_v128_load(x + i + k), wasm_v128_load(meanTile + k));
      wasm_v128_store(out + i + k, wasm_f32x4_mul(d, d));
    }
  for (; i < total; i++) {
    const f32 d = x[i] - meanTile[i % c];
    out[i] = d * d;
  }
}

// out = a · b elementwise.
EXPORT(lenet_mul)
void lenet_mul(const f32 *a, const f32 *b, f32 *out, i32 len) {
  i32 i = 0;
  for (; i + 4 <= len; i += 4)
    wasm_v128_store(out + i, wasm_f32x4_mul(wasm_v128_load(a + i), wasm_v128_load(b + i)));
  for (; i < len; i++) out[i] = a[i] * b[i];
}

// The batch-norm input gradient as tfjs's tape forms it through tf.moments (see
// src/compiled/batch-norm-stage.ts), each step rounded to float32 as its kernels round it:
// the variance path: out = dvar · ((x − mean)·2), dvar per channel (Mean's, Square's gradient).
EXPORT(lenet_bn_var_grad)
void lenet_bn_var_grad(const f32 *x, const f32 *meanTile, const f32 *dvarTile, f32 *out, i32 total, i32 c, i32 t) {
  const v128_t two = wasm_f32x4_splat(2.0f);
  i32 i = 0;
  for (; i + t <= total; i += t)
    for (i32 k = 0; k < t; k += 4) {
      const v128_t d = wasm_f32x4_sub(wasm_v128_load(x + i + k), wasm_v128_load(meanTile + k));
      wasm_v128_store(out + i + k, wasm_f32x4_mul(wasm_v128_load(dvarTile + k), wasm_f32x4_mul(d, two)));
    }
  for (; i < total; i++) {
    const i32 k = i % c;
    out[i] = dvarTile[k] * ((x[i] - meanTile[k]) * 2.0f);
  }
}

// ... and the sum of the three paths in the tape's order: out = (dxp + dvarPath) + dmean per channel.
EXPORT(lenet_bn_dx_sum)
void lenet_bn_dx_sum(const f32 *dxp, const f32 *dvarPath, const f32 *dmeanTile, f32 *out, i32 total, i32 c, i32 t) {
  i32 i = 0;
  for (; i + t <= total; i += t)
    for (i32 k = 0; k < t; k += 4) {
      const v128_t s = wasm_f32x4_add(wasm_v128_load(dxp + i + k), wasm_v128_load(dvarPath + i + k));
      wasm_v128_store(out + i + k, wasm_f32x4_add(s, wasm_v128_load(dmeanTile + k)));
    }
  for (; i < total; i++) out[i] = (dxp[i] + dvarPath[i]) + dmeanTile[i % c];
}

// Max (kind 0; the first maximum's value, NaN wins) or average (kind 1, over the window's pixels
// inside the input) pooling of any window and stride without padding (the 2×2/2 case has
// lenet_pool_2x2).
EXPORT(lenet_pool)
void lenet_pool(const f32 *x, f32 *out, i32 n, i32 ih, i32 iw, i32 c, i32 oh, i32 ow, i32 sh, i32 sw, i32 fh, i32 fw,
                i32 kind) {
  f32 *o = out;
  for (i32 b = 0; b < n; b++)
    for (i32 y = 0; y < oh; y++)
      for (i32 xx = 0; xx < ow; xx++, o += c) {
        const i32 h0 = y * sh, w0 = xx * sw;
        const i32 he = h0 + fh > ih ? ih : h0 + fh, we = w0 + fw > iw ? iw : w0 + fw;
        const f32 count = (f32)((he - h0) * (we - w0));
        for (i32 k = 0; k < c; k++) {
          f32 acc = kind == 0 ? x[((b * ih + h0) * iw + w0) * c + k] : 0.0f;
          for (i32 h = h0; h < he; h++)
            for (i32 w = w0; w < we; w++) {
              const f32 v = x[((b * ih + h) * iw + w) * c + k];
              if (kind == 0) acc = acc != acc ? acc : v != v ? v : v > acc ? v : acc;
              else acc += v;
            }
          o[k] = kind == 0 ? acc : acc / count;
        }
      }
}

// ---------------------------------------------------------------------------------------------
// One Adam/AdamW step (src/wasm-kernels/adam.ts, adamUpdateArrays): float32 operations, as
// PyTorch's CPU kernel, four elements per vector, in the order of the JS loop (which rounds each
// operation to float32), so the results are bit for bit the same. In float64 (two per vector, two
// divisions and a square root per pair) it took ~3.9 ns an element, most of a 784-100-10 step's
// update. The L2 term g + coupledDecay·w stays float64 (rounded once): g and coupledDecay·w nearly
// cancel for some elements, and float32 there cost 1e-5 of the weights against the float64 rule.
// Outputs may be the inputs (each element is read before it is written).
INLINE v128_t adamGrad(const f32 *g, const f32 *w, v128_t cd64) {
  const v128_t g4 = wasm_v128_load(g), w4 = wasm_v128_load(w);
  const v128_t lo = wasm_f64x2_add(wasm_f64x2_promote_low_f32x4(g4), wasm_f64x2_mul(cd64, wasm_f64x2_promote_low_f32x4(w4)));
  const v128_t hi = wasm_f64x2_add(wasm_f64x2_promote_low_f32x4(wasm_i64x2_shuffle(g4, g4, 1, 0)),
                                   wasm_f64x2_mul(cd64, wasm_f64x2_promote_low_f32x4(wasm_i64x2_shuffle(w4, w4, 1, 0))));
  return wasm_i64x2_shuffle(wasm_f32x4_demote_f64x2_zero(lo), wasm_f32x4_demote_f64x2_zero(hi), 0, 2);
}

EXPORT(lenet_adam)
void lenet_adam(const f32 *w, const f32 *g, const f32 *m, const f32 *v, f32 *outW, f32 *outM, f32 *outV, i32 len,
                double beta1, double beta2, double oneMinusB1, double oneMinusB2, double sqrtBc2, double stepSize,
                double keep, double epsilon, double coupledDecay) {
  const f32 b1s = (f32)beta1, b2s = (f32)beta2, c1s = (f32)oneMinusB1, c2s = (f32)oneMinusB2, sbs = (f32)sqrtBc2,
            sss = (f32)stepSize, kps = (f32)keep, eps = (f32)epsilon;
  const v128_t b1 = wasm_f32x4_splat(b1s), b2 = wasm_f32x4_splat(b2s), c1 = wasm_f32x4_splat(c1s),
               c2 = wasm_f32x4_splat(c2s), sb = wasm_f32x4_splat(sbs), ss = wasm_f32x4_splat(sss),
               kp = wasm_f32x4_splat(kps), ep = wasm_f32x4_splat(eps), cd = wasm_f64x2_splat(coupledDecay);
  const int l2 = coupledDecay != 0;
  i32 i = 0;
  for (; i + 4 <= len; i += 4) {
    const v128_t wi = wasm_v128_load(w + i);
    const v128_t gi = l2 ? adamGrad(g + i, w + i, cd) : wasm_v128_load(g + i);
    const v128_t mi = wasm_f32x4_add(wasm_f32x4_mul(b1, wasm_v128_load(m + i)), wasm_f32x4_mul(c1, gi));
    const v128_t vi =
        wasm_f32x4_add(wasm_f32x4_mul(b2, wasm_v128_load(v + i)), wasm_f32x4_mul(wasm_f32x4_mul(c2, gi), gi));
    const v128_t den = wasm_f32x4_add(wasm_f32x4_div(wasm_f32x4_sqrt(vi), sb), ep);
    const v128_t nw = wasm_f32x4_sub(wasm_f32x4_mul(wi, kp), wasm_f32x4_div(wasm_f32x4_mul(ss, mi), den));
    wasm_v128_store(outM + i, mi);
    wasm_v128_store(outV + i, vi);
    wasm_v128_store(outW + i, nw);
  }
  for (; i < len; i++) {
    const f32 wi = w[i];
    const f32 gi = (f32)(g[i] + coupledDecay * wi);
    const f32 mi = b1s * m[i] + c1s * gi;
    const f32 vi = b2s * v[i] + (c2s * gi) * gi;
    outM[i] = mi;
    outV[i] = vi;
    outW[i] = wi * kps - (sss * mi) / (__builtin_sqrtf(vi) / sbs + eps);
  }
}

// ---------------------------------------------------------------------------------------------
// Wide convolutions (over 16 channels; src/wasm-kernels/conv-wide.ts), forward and input gradient:
// out[p, c] = Σ_r X[p, r] · W[r, c] with the filter packed once per call into blocks of 16 output
// channels, wpk[block][r][16] (zeros past the last channel), so a tile streams its block's weights
// contiguously. 2 output pixels × 4 vectors (16 channels) accumulate in registers over every
// r = (kh, kw, cin); the pixels run along the image's flattened oh·ow pixels, so small feature maps
// (7×7, 3×3) fill whole tiles. Measured against other tiles on this machine (one thread, vgg and
// Keras shapes): 2×4 ~45–50 GFLOP/s, 4×2 ~45–49, 6×2 ~20–25 and 3×4 ~20–27 (V8 spills their 15+
// vector registers), 2×4 with one 4-float input load and lane shuffles ~30; XNNPACK ~35.
// The input gradient (stride 1) is the same kernel on dy padded by k − 1 − pad with the filter
// rotated 180° and its channels swapped: a gather, each dx pixel summed once in registers.

// Packs W [kh, kw, ci, co] for lenet_conv_wide. flip = 0: output channels co, rows (a, b, i) as in
// W. flip = 1 (input gradient): output channels ci, rows (a, b, o) from W[kh−1−a, kw−1−b, ·, o].
EXPORT(lenet_pack_wide)
void lenet_pack_wide(const f32 *w, f32 *wpk, i32 kh, i32 kw, i32 ci, i32 co, i32 flip) {
  const i32 outc = flip ? ci : co, inc = flip ? co : ci;
  const i32 rows = kh * kw * inc, blocks = (outc + 15) / 16;
  for (i32 cb = 0; cb < blocks; cb++)
    for (i32 a = 0; a < kh; a++)
      for (i32 b = 0; b < kw; b++)
        for (i32 i = 0; i < inc; i++) {
          f32 *dst = wpk + ((cb * rows) + (a * kw + b) * inc + i) * 16;
          for (i32 l = 0; l < 16; l++) {
            const i32 c = cb * 16 + l;
            f32 v = 0.0f;
            if (c < outc)
              v = flip ? w[(((kh - 1 - a) * kw + (kw - 1 - b)) * ci + c) * co + i] : w[((a * kw + b) * ci + i) * co + c];
            dst[l] = v;
          }
        }
}

// Stores the first `lanes` (1–16) of 4 vectors at op.
INLINE void store_block16(f32 *op, const v128_t *acc, i32 lanes) {
  for (i32 v = 0; v < 4; v++) {
    const i32 left = lanes - 4 * v;
    if (left >= 4) wasm_v128_store(op + 4 * v, acc[v]);
    else if (left > 0) store_lanes(op + 4 * v, acc[v], left);
  }
}

#define CONV_WIDE(PB)                                                                                        \
  static void conv_wide_##PB(const f32 *xb, i32 p0, i32 ow, i32 rowStep, i32 colStep, const f32 *w, i32 kh, \
                             i32 kwci, i32 wpci, f32 *o, i32 co, i32 lanes) {                                \
    const f32 *px[PB];                                                                                       \
    for (i32 p = 0; p < PB; p++) px[p] = xb + ((p0 + p) / ow) * rowStep + ((p0 + p) % ow) * colStep;        \
    v128_t acc[PB][4];                                                                                       \
    for (i32 p = 0; p < PB; p++)                                                                             \
      for (i32 v = 0; v < 4; v++) acc[p][v] = wasm_f32x4_splat(0.0f);                                        \
    const f32 *wr = w;                                                                                       \
    for (i32 a = 0; a < kh; a++) {                                                                           \
      const i32 base = a * wpci;                                                                             \
      for (i32 j = 0; j < kwci; j++, wr += 16) {                                                             \
        v128_t wv[4];                                                                                        \
        for (i32 v = 0; v < 4; v++) wv[v] = wasm_v128_load(wr + 4 * v);                                      \
        for (i32 p = 0; p < PB; p++) {                                                                       \
          const v128_t s = wasm_v128_load32_splat(px[p] + base + j);                                         \
          for (i32 v = 0; v < 4; v++) acc[p][v] = LENET_MADD(acc[p][v], s, wv[v]);       \
        }                                                                                                    \
      }                                                                                                      \
    }                                                                                                        \
    for (i32 p = 0; p < PB; p++) store_block16(o + (p0 + p) * co, acc[p], lanes);                            \
  }

CONV_WIDE(2)
CONV_WIDE(1)

// xp: input padded to [n, hp, wp, ci] (every window inside); wpk: lenet_pack_wide's blocks;
// out: [n, oh, ow, co] exactly (a partial last block stored lane by lane).
EXPORT(lenet_conv_wide)
void lenet_conv_wide(const f32 *xp, const f32 *wpk, f32 *out, i32 n, i32 hp, i32 wp, i32 ci, i32 oh, i32 ow, i32 co,
                     i32 kh, i32 kw, i32 sh, i32 sw) {
  const i32 wpci = wp * ci, kwci = kw * ci, rows = kh * kwci, pixels = oh * ow;
  const i32 rowStep = sh * wpci, colStep = sw * ci;
  for (i32 cb = 0; cb * 16 < co; cb++) {
    const i32 lanes = co - cb * 16 < 16 ? co - cb * 16 : 16;
    const f32 *w = wpk + cb * rows * 16;
    for (i32 b = 0; b < n; b++) {
      const f32 *xb = xp + b * hp * wpci;
      f32 *o = out + b * pixels * co + cb * 16;
      i32 p = 0;
      for (; p + 2 <= pixels; p += 2) conv_wide_2(xb, p, ow, rowStep, colStep, w, kh, kwci, wpci, o, co, lanes);
      if (p < pixels) conv_wide_1(xb, p, ow, rowStep, colStep, w, kh, kwci, wpci, o, co, lanes);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Wide filter gradient: dW[r, c] = Σ_p X[p, r] · dY[p, c] over chunks of output pixels (whole rows
// of one image, or whole small images, `chunk` pixels or so) at a time: every tile of dW for one
// chunk before the next, adding into dW, so a chunk's dy and input rows stay in the first-level
// caches. (lenet_conv_filter_grad makes one pass over all n·oh·ow pixels per tile, streaming dy
// from memory for each: 5–17 GFLOP/s on these shapes, against 17–39 chunked.)
// Two tiles: with ci a multiple of 16 (every layer but the first), the transposed gradient
// dWt[c, r] for 16 consecutive r (one 4-vector load of the input per pixel) × 2 channels (dy
// splats); otherwise dW[r, c] for 2 patch rows (input splats) × 16 channels.

static void filter_grad_t16x2(const f32 *xb, const f32 *dyb, f32 *dwt, i32 images, i32 ny, i32 ow, i32 imageStride,
                              i32 dyImageStride, i32 rowStep, i32 colStep, i32 co, i32 rows) {
  v128_t acc[2][4];
  for (i32 c = 0; c < 2; c++)
    for (i32 v = 0; v < 4; v++) acc[c][v] = wasm_v128_load(dwt + c * rows + 4 * v);
  for (i32 b = 0; b < images; b++) {
    const f32 *d = dyb + b * dyImageStride;
    for (i32 y = 0; y < ny; y++) {
      const f32 *px = xb + b * imageStride + y * rowStep;
      for (i32 x = 0; x < ow; x++, px += colStep, d += co) {
        v128_t xv[4];
        for (i32 v = 0; v < 4; v++) xv[v] = wasm_v128_load(px + 4 * v);
        for (i32 c = 0; c < 2; c++) {
          const v128_t s = wasm_v128_load32_splat(d + c);
          for (i32 v = 0; v < 4; v++) acc[c][v] = LENET_MADD(acc[c][v], s, xv[v]);
        }
      }
    }
  }
  for (i32 c = 0; c < 2; c++)
    for (i32 v = 0; v < 4; v++) wasm_v128_store(dwt + c * rows + 4 * v, acc[c][v]);
}

#define FILTER_GRAD_WIDE(R)                                                                                  \
  static void filter_grad_wide_##R(const f32 *xb, const f32 *dyb, f32 *dw, i32 o0, i32 o1, i32 images,      \
                                   i32 ny, i32 ow, i32 imageStride, i32 dyImageStride, i32 rowStep,         \
                                   i32 colStep, i32 co) {                                                   \
    const i32 off[2] = {o0, o1};                                                                            \
    v128_t acc[R][4];                                                                                       \
    for (i32 r = 0; r < R; r++)                                                                             \
      for (i32 v = 0; v < 4; v++) acc[r][v] = wasm_v128_load(dw + r * co + 4 * v);                          \
    for (i32 b = 0; b < images; b++) {                                                                      \
      const f32 *d = dyb + b * dyImageStride;                                                               \
      for (i32 y = 0; y < ny; y++) {                                                                        \
        const f32 *px = xb + b * imageStride + y * rowStep;                                                 \
        for (i32 x = 0; x < ow; x++, px += colStep, d += co) {                                              \
          v128_t g[4];                                                                                      \
          for (i32 v = 0; v < 4; v++) g[v] = wasm_v128_load(d + 4 * v);                                     \
          for (i32 r = 0; r < R; r++) {                                                                     \
            const v128_t s = wasm_v128_load32_splat(px + off[r]);                                           \
            for (i32 v = 0; v < 4; v++) acc[r][v] = LENET_MADD(acc[r][v], s, g[v]);     \
          }                                                                                                 \
        }                                                                                                   \
      }                                                                                                     \
    }                                                                                                       \
    for (i32 r = 0; r < R; r++)                                                                             \
      for (i32 v = 0; v < 4; v++) wasm_v128_store(dw + r * co + 4 * v, acc[r][v]);                          \
  }

FILTER_GRAD_WIDE(2)
FILTER_GRAD_WIDE(1)

// xp: the input padded to [n, hp, wp, ci]; dy: [n, oh, ow, co] (co a multiple of 16); out: dW
// [kh, kw, ci, co], or with `transposed` (ci a multiple of 16 too) dWᵀ [co, kh·kw·ci]; overwritten.
EXPORT(lenet_conv_filter_grad_wide)
void lenet_conv_filter_grad_wide(const f32 *xp, const f32 *dy, f32 *out, i32 n, i32 hp, i32 wp, i32 ci, i32 oh,
                                 i32 ow, i32 co, i32 kh, i32 kw, i32 sh, i32 sw, i32 chunk, i32 transposed) {
  const i32 rows = kh * kw * ci, kwci = kw * ci, wpci = wp * ci;
  const i32 imageStride = hp * wpci, dyImageStride = oh * ow * co, rowStep = sh * wpci, colStep = sw * ci;
  __builtin_memset(out, 0, (uint32_t)(rows * co) * 4u);
  // A chunk: `images` whole images when one has fewer than `chunk` pixels, else `ny` rows of one.
  const i32 perImage = oh * ow;
  const i32 images = perImage >= chunk ? 1 : chunk / perImage;
  const i32 ny = perImage >= chunk ? (chunk / ow > 0 ? chunk / ow : 1) : oh;
  for (i32 b = 0; b < n; b += images) {
    const i32 nb = n - b < images ? n - b : images;
    for (i32 y = 0; y < oh; y += ny) {
      const i32 rowsHere = oh - y < ny ? oh - y : ny;
      const f32 *xb = xp + b * imageStride + y * rowStep;
      const f32 *dyb = dy + b * dyImageStride + y * ow * co;
      if (transposed) {
        for (i32 c = 0; c < co; c += 2)
          for (i32 r = 0; r < rows; r += 16)
            filter_grad_t16x2(xb + patch_offset(r, kwci, wpci), dyb + c, out + c * rows + r, nb, rowsHere, ow,
                              imageStride, dyImageStride, rowStep, colStep, co, rows);
        continue;
      }
      for (i32 cb = 0; cb < co; cb += 16) {
        i32 r = 0;
        for (; r + 2 <= rows; r += 2)
          filter_grad_wide_2(xb, dyb + cb, out + r * co + cb, patch_offset(r, kwci, wpci),
                             patch_offset(r + 1, kwci, wpci), nb, rowsHere, ow, imageStride, dyImageStride, rowStep,
                             colStep, co);
        if (r < rows)
          filter_grad_wide_1(xb, dyb + cb, out + r * co + cb, patch_offset(r, kwci, wpci), 0, nb, rowsHere, ow,
                             imageStride, dyImageStride, rowStep, colStep, co);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Winograd F(2×2, 3×3) for stride-1 3×3 convolutions: each 2×2 output tile is A^T [(G g G^T) ⊙
// (B^T d B)] A, 16 multiplies per input-output channel pair where the direct convolution does 36
// (2.25× fewer). The products, summed over the input channels, are 16 small GEMMs per band of
// tiles (tiles × ci by ci × co), run with the same 2-tile × 16-channel register tile as
// lenet_conv_wide; the transforms (adds only, bar the filter's halves) are a few per cent of it.
// 1-D transforms (applied along rows, then columns):
//   input  f(d0..d3) = (d0 − d2, d1 + d2, d2 − d1, d1 − d3)
//   filter h(g0..g2) = (g0, (g0 + g1 + g2)/2, (g0 − g1 + g2)/2, g2)
//   output a(m0..m3) = (m0 + m1 + m2, m1 − m2 − m3)
// The kernel needs scratch (no C stack here): one band of transformed input tiles and the
// products of two tiles.

INLINE v128_t wino_load_or_lanes(const f32 *p, i32 n) { return n >= 4 ? wasm_v128_load(p) : load_lanes(p, n); }

// The 3×3 taps of output channels c .. c+3 (zeros past outc) for input channel i, one vector per
// tap: W[a][b][i][c..] (contiguous), or with flip W[2−a][2−b][c..][i] (gathered).
INLINE void wino_filter_taps(const f32 *w, i32 ci, i32 co, i32 flip, i32 outc, i32 i, i32 c, v128_t g[3][3]) {
  const i32 n = outc - c < 4 ? outc - c : 4;
  _Pragma("clang loop unroll(full)") for (i32 a = 0; a < 3; a++)
    _Pragma("clang loop unroll(full)") for (i32 b = 0; b < 3; b++) {
      if (n <= 0) {
        g[a][b] = wasm_f32x4_splat(0.0f);
      } else if (!flip) {
        g[a][b] = wino_load_or_lanes(w + ((a * 3 + b) * ci + i) * co + c, n);
      } else {
        const f32 *p = w + (((2 - a) * 3 + (2 - b)) * ci + c) * co + i;
        g[a][b] = wasm_f32x4_make(p[0], n > 1 ? p[co] : 0.0f, n > 2 ? p[2 * co] : 0.0f, n > 3 ? p[3 * co] : 0.0f);
      }
    }
}

// G g G^T of one set of taps (4 output channels) to dst[ξ · xs], ξ < 16.
INLINE void wino2_filter_taps(v128_t g[3][3], f32 *dst, i32 xs) {
  const v128_t half = wasm_f32x4_splat(0.5f);
  v128_t r[4][3];
  _Pragma("clang loop unroll(full)") for (i32 b = 0; b < 3; b++) {
    r[0][b] = g[0][b];
    r[1][b] = wasm_f32x4_mul(half, wasm_f32x4_add(wasm_f32x4_add(g[0][b], g[1][b]), g[2][b]));
    r[2][b] = wasm_f32x4_mul(half, wasm_f32x4_add(wasm_f32x4_sub(g[0][b], g[1][b]), g[2][b]));
    r[3][b] = g[2][b];
  }
  _Pragma("clang loop unroll(full)") for (i32 a = 0; a < 4; a++) {
    wasm_v128_store(dst + (4 * a + 0) * xs, r[a][0]);
    wasm_v128_store(dst + (4 * a + 1) * xs,
                    wasm_f32x4_mul(half, wasm_f32x4_add(wasm_f32x4_add(r[a][0], r[a][1]), r[a][2])));
    wasm_v128_store(dst + (4 * a + 2) * xs,
                    wasm_f32x4_mul(half, wasm_f32x4_add(wasm_f32x4_sub(r[a][0], r[a][1]), r[a][2])));
    wasm_v128_store(dst + (4 * a + 3) * xs, r[a][2]);
  }
}

// The 1-D F(4×4, 3×3) filter transform of 3 vectors: 6 results.
INLINE void wino4_filter_1d(v128_t g0, v128_t g1, v128_t g2, v128_t *h) {
  const v128_t q = wasm_f32x4_splat(0.25f), s6 = wasm_f32x4_splat(1.0f / 6.0f);
  const v128_t s12 = wasm_f32x4_splat(1.0f / 12.0f), s24 = wasm_f32x4_splat(1.0f / 24.0f);
  const v128_t even = wasm_f32x4_add(g0, g2);
  const v128_t e2 = wasm_f32x4_add(wasm_f32x4_mul(s24, g0), wasm_f32x4_mul(s6, g2));
  const v128_t o2 = wasm_f32x4_mul(s12, g1);
  h[0] = wasm_f32x4_mul(q, g0);
  h[1] = wasm_f32x4_neg(wasm_f32x4_mul(s6, wasm_f32x4_add(even, g1)));
  h[2] = wasm_f32x4_neg(wasm_f32x4_mul(s6, wasm_f32x4_sub(even, g1)));
  h[3] = wasm_f32x4_add(e2, o2);
  h[4] = wasm_f32x4_sub(e2, o2);
  h[5] = g2;
}

// The same with 6×6 points (F(4×4, 3×3)), ξ < 36.
INLINE void wino4_filter_taps(v128_t g[3][3], f32 *dst, i32 xs) {
  v128_t r[6][3];
  _Pragma("clang loop unroll(full)") for (i32 b = 0; b < 3; b++) {
    v128_t h[6];
    wino4_filter_1d(g[0][b], g[1][b], g[2][b], h);
    _Pragma("clang loop unroll(full)") for (i32 a = 0; a < 6; a++) r[a][b] = h[a];
  }
  _Pragma("clang loop unroll(full)") for (i32 a = 0; a < 6; a++) {
    v128_t h[6];
    wino4_filter_1d(r[a][0], r[a][1], r[a][2], h);
    _Pragma("clang loop unroll(full)") for (i32 b = 0; b < 6; b++) wasm_v128_store(dst + (6 * a + b) * xs, h[b]);
  }
}

// Transforms W [3, 3, ci, co] to u[block][ξ][i][16] (ξ = (m+2)·row + column of the transformed
// filter, 16 output channels per block, zeros past the last), for m × m output tiles (2 or 4). flip = 1 (input gradient): output
// channels ci, input channels co, from W rotated 180° (as lenet_pack_wide).
EXPORT(lenet_wino_filter)
void lenet_wino_filter(const f32 *w, f32 *u, i32 ci, i32 co, i32 flip, i32 m) {
  const i32 outc = flip ? ci : co, inc = flip ? co : ci, blocks = (outc + 15) / 16;
  const i32 nxi = (m + 2) * (m + 2), xs = inc * 16;
  for (i32 cb = 0; cb < blocks; cb++)
    for (i32 i = 0; i < inc; i++)
      for (i32 l = 0; l < 16; l += 4) {
        v128_t g[3][3];
        wino_filter_taps(w, ci, co, flip, outc, i, cb * 16 + l, g);
        f32 *dst = u + ((cb * nxi) * inc + i) * 16 + l;
        if (m == 4) wino4_filter_taps(g, dst, xs);
        else wino2_filter_taps(g, dst, xs);
      }
}

INLINE v128_t wino_load(const f32 *p, i32 lanes) { return lanes >= 4 ? wasm_v128_load(p) : load_lanes(p, lanes); }

// B^T d B of the 4×4 input patch at (y0, x0) of one padded image (rows and columns outside the
// hp × wp image, before it (y0 or x0 < 0: padding not stored) or past it (the last tile of an
// odd-sized output), read as zeros), for every channel, to v[ξ][ci].
static void wino_input_tile(const f32 *xb, i32 hp, i32 wp, i32 ci, i32 y0, i32 x0, f32 *v) {
  const i32 rows = hp - y0 < 4 ? hp - y0 : 4, cols = wp - x0 < 4 ? wp - x0 : 4;
  const i32 r0 = y0 < 0 ? -y0 : 0, q0 = x0 < 0 ? -x0 : 0;
  const i32 wpci = wp * ci;
  const v128_t z = wasm_f32x4_splat(0.0f);
  for (i32 c = 0; c < ci; c += 4) {
    const i32 lanes = ci - c < 4 ? ci - c : 4;
    // An index, not a pointer: the patch's corner may lie before the image.
    const i32 at = y0 * wpci + x0 * ci + c;
    v128_t t[4][4];
    _Pragma("clang loop unroll(full)")
    for (i32 r = 0; r < 4; r++) {
      v128_t d[4];
      _Pragma("clang loop unroll(full)")
      for (i32 q = 0; q < 4; q++)
        d[q] = r >= r0 && r < rows && q >= q0 && q < cols ? wino_load(xb + at + r * wpci + q * ci, lanes) : z;
      t[r][0] = wasm_f32x4_sub(d[0], d[2]);
      t[r][1] = wasm_f32x4_add(d[1], d[2]);
      t[r][2] = wasm_f32x4_sub(d[2], d[1]);
      t[r][3] = wasm_f32x4_sub(d[1], d[3]);
    }
    f32 *o = v + c;
    _Pragma("clang loop unroll(full)")
    for (i32 q = 0; q < 4; q++) {
      store_lanes(o + (0 + q) * ci, wasm_f32x4_sub(t[0][q], t[2][q]), lanes);
      store_lanes(o + (4 + q) * ci, wasm_f32x4_add(t[1][q], t[2][q]), lanes);
      store_lanes(o + (8 + q) * ci, wasm_f32x4_sub(t[2][q], t[1][q]), lanes);
      store_lanes(o + (12 + q) * ci, wasm_f32x4_sub(t[1][q], t[3][q]), lanes);
    }
  }
}

// m[ξ][t][16] = Σ_i v_t[ξ][i] · u[ξ][i][16] for PB tiles (v_t at v + t·tileStride), ξ < nxi.
// Out of line: inlined into each of winom_group's nine tile shapes, the mixed kernel's products ran
// ~30 % slower than lenet_conv_winograd's (measured one thread, keras-deep's input gradient shapes).
#define WINO_GEMM(PB)                                                                                    \
  static NOINLINE void wino_gemm_##PB(const f32 *v, i32 tileStride, const f32 *u, i32 ci, f32 *m, i32 nxi) {      \
    for (i32 xi = 0; xi < nxi; xi++) {                                                                   \
      v128_t acc[PB][4];                                                                                 \
      for (i32 t = 0; t < PB; t++)                                                                       \
        for (i32 k = 0; k < 4; k++) acc[t][k] = wasm_f32x4_splat(0.0f);                                  \
      const f32 *a = v + xi * ci, *w = u + xi * ci * 16;                                                 \
      for (i32 i = 0; i < ci; i++, w += 16) {                                                            \
        v128_t wv[4];                                                                                    \
        for (i32 k = 0; k < 4; k++) wv[k] = wasm_v128_load(w + 4 * k);                                   \
        for (i32 t = 0; t < PB; t++) {                                                                   \
          const v128_t s = wasm_v128_load32_splat(a + t * tileStride + i);                               \
          for (i32 k = 0; k < 4; k++) acc[t][k] = LENET_MADD(acc[t][k], s, wv[k]);   \
        }                                                                                                \
      }                                                                                                  \
      for (i32 t = 0; t < PB; t++)                                                                       \
        for (i32 k = 0; k < 4; k++) wasm_v128_store(m + (xi * 2 + t) * 16 + 4 * k, acc[t][k]);           \
    }                                                                                                    \
  }

WINO_GEMM(2)
WINO_GEMM(1)

// A^T m A of one tile's products (m[ξ] at m + ξ·32) to the output pixels (oy, ox) .. (oy+1, ox+1)
// that exist, `lanes` channels at o (the image's output, offset to the channel block), with the
// layer's epilogue as wino4_output_tile_epilogue's (the 2×2 tile is one pooling window: pooled
// output o [⌊oh/2⌋, ⌊ow/2⌋, co]). Inlined, so that the plain call (no bias, act 0, pool −1)
// keeps no branch of it.
INLINE void wino_output_tile_epilogue(const f32 *m, f32 *o, i32 oy, i32 ox, i32 oh, i32 ow, i32 co, i32 lanes,
                                      const f32 *bias, i32 act, i32 pool) {
  const i32 down = oy + 1 < oh, right = ox + 1 < ow;
  const v128_t zero = wasm_f32x4_splat(0.0f), quarter = wasm_f32x4_splat(0.25f);
  for (i32 k = 0; 4 * k < lanes; k++) {
    const i32 n = lanes - 4 * k < 4 ? lanes - 4 * k : 4;
    const v128_t b = bias ? wino_load(bias + 4 * k, n) : zero;
    v128_t s0[4], s1[4];
    _Pragma("clang loop unroll(full)")
    for (i32 q = 0; q < 4; q++) {
      const v128_t m0 = wasm_v128_load(m + (0 + q) * 32 + 4 * k), m1 = wasm_v128_load(m + (4 + q) * 32 + 4 * k);
      const v128_t m2 = wasm_v128_load(m + (8 + q) * 32 + 4 * k), m3 = wasm_v128_load(m + (12 + q) * 32 + 4 * k);
      s0[q] = wasm_f32x4_add(wasm_f32x4_add(m0, m1), m2);
      s1[q] = wasm_f32x4_sub(wasm_f32x4_sub(m1, m2), m3);
    }
    v128_t y[4] = {wasm_f32x4_add(wasm_f32x4_add(s0[0], s0[1]), s0[2]), wasm_f32x4_sub(wasm_f32x4_sub(s0[1], s0[2]), s0[3]),
                   wasm_f32x4_add(wasm_f32x4_add(s1[0], s1[1]), s1[2]), wasm_f32x4_sub(wasm_f32x4_sub(s1[1], s1[2]), s1[3])};
    _Pragma("clang loop unroll(full)") for (i32 i = 0; i < 4; i++) {
      if (bias) y[i] = wasm_f32x4_add(y[i], b);
      if (act == 1) y[i] = wasm_f32x4_pmax(y[i], zero);
    }
    if (pool < 0) {
      f32 *pk = o + (oy * ow + ox) * co + 4 * k;
      store_lanes(pk, y[0], n);
      if (right) store_lanes(pk + co, y[1], n);
      if (down) {
        store_lanes(pk + ow * co, y[2], n);
        if (right) store_lanes(pk + ow * co + co, y[3], n);
      }
    } else if (down && right) {
      const v128_t r = pool == 0 ? wasm_f32x4_max(wasm_f32x4_max(y[0], y[1]), wasm_f32x4_max(y[2], y[3]))
                                 : wasm_f32x4_mul(wasm_f32x4_add(wasm_f32x4_add(y[0], y[1]), wasm_f32x4_add(y[2], y[3])), quarter);
      store_lanes(o + ((oy / 2) * (ow / 2) + ox / 2) * co + 4 * k, r, n);
    }
  }
}

static void wino_output_tile(const f32 *m, f32 *o, i32 oy, i32 ox, i32 oh, i32 ow, i32 co, i32 lanes) {
  wino_output_tile_epilogue(m, o, oy, ox, oh, ow, co, lanes, 0, 0, -1);
}

// ---------------------------------------------------------------------------------------------
// Winograd F(4×4, 3×3): 36 multiplies per 4×4 output tile and channel pair where the direct
// convolution does 144 (4× fewer), with heavier transforms (interpolation points 0, ±1, ±2, ∞):
//   input  f(d0..d5) = (4d0 − 5d2 + d4, −4d1 − 4d2 + d3 + d4, 4d1 − 4d2 − d3 + d4,
//                       −2d1 − d2 + 2d3 + d4, 2d1 − d2 − 2d3 + d4, 4d1 − 5d3 + d5)
//   filter h(g0..g2) = (g0/4, −(g0 + g1 + g2)/6, −(g0 − g1 + g2)/6, g0/24 + g1/12 + g2/6,
//                       g0/24 − g1/12 + g2/6, g2)
//   output a(m0..m5) = (m0 + m1 + m2 + m3 + m4, m1 − m2 + 2m3 − 2m4, m1 + m2 + 4m3 + 4m4,
//                       m1 − m2 + 8m3 − 8m4 + m5)
// Same layouts as F(2×2, 3×3) with 36 ξ = 6·row + column.

// The 1-D input transform of 6 vectors at p (stride s) to q (stride s), in place allowed.
INLINE void wino4_in_1d(v128_t d0, v128_t d1, v128_t d2, v128_t d3, v128_t d4, v128_t d5, f32 *q, i32 s, i32 lanes) {
  const v128_t four = wasm_f32x4_splat(4.0f), five = wasm_f32x4_splat(5.0f), two = wasm_f32x4_splat(2.0f);
  const v128_t t0 = wasm_f32x4_sub(d4, wasm_f32x4_mul(four, d2));  // d4 − 4d2
  const v128_t t1 = wasm_f32x4_sub(d3, wasm_f32x4_mul(four, d1));  // d3 − 4d1
  const v128_t t2 = wasm_f32x4_sub(d4, d2);                        // d4 − d2
  const v128_t t3 = wasm_f32x4_mul(two, wasm_f32x4_sub(d3, d1));   // 2(d3 − d1)
  store_lanes(q, wasm_f32x4_add(wasm_f32x4_sub(wasm_f32x4_mul(four, d0), wasm_f32x4_mul(five, d2)), d4), lanes);
  store_lanes(q + s, wasm_f32x4_add(t0, t1), lanes);
  store_lanes(q + 2 * s, wasm_f32x4_sub(t0, t1), lanes);
  store_lanes(q + 3 * s, wasm_f32x4_add(t2, t3), lanes);
  store_lanes(q + 4 * s, wasm_f32x4_sub(t2, t3), lanes);
  store_lanes(q + 5 * s, wasm_f32x4_add(wasm_f32x4_sub(wasm_f32x4_mul(four, d1), wasm_f32x4_mul(five, d3)), d5), lanes);
}

// B^T d B of the 6×6 patch at (y0, x0) (rows and columns outside the image, before or past it,
// read as zeros, as wino_input_tile's), for every channel, to v[ξ · xs + channel] (xs ≥ ci):
// along the rows into v, then along its columns in place.
// full: the patch lies inside the image and ci is a multiple of 4 (the caller checked), so that
// the inlined copy for it loads without a bound check.
INLINE void wino4_input_tile_at(const f32 *xb, i32 hp, i32 wp, i32 ci, i32 y0, i32 x0, f32 *v, i32 xs, i32 full) {
  const i32 rows = full ? 6 : hp - y0 < 6 ? hp - y0 : 6, cols = full ? 6 : wp - x0 < 6 ? wp - x0 : 6;
  const i32 r0 = full ? 0 : y0 < 0 ? -y0 : 0, q0 = full ? 0 : x0 < 0 ? -x0 : 0;
  const i32 wpci = wp * ci;
  const v128_t z = wasm_f32x4_splat(0.0f);
  for (i32 c = 0; c < ci; c += 4) {
    const i32 lanes = full ? 4 : ci - c < 4 ? ci - c : 4;
    const i32 at = y0 * wpci + x0 * ci + c;
    f32 *o = v + c;
    _Pragma("clang loop unroll(full)") for (i32 r = 0; r < 6; r++) {
      v128_t d[6];
      _Pragma("clang loop unroll(full)") for (i32 q = 0; q < 6; q++)
        d[q] = r >= r0 && r < rows && q >= q0 && q < cols ? wino_load(xb + at + r * wpci + q * ci, lanes) : z;
      // Row r's transform along the columns: t[r][·] at ξ = 6r + ·.
      wino4_in_1d(d[0], d[1], d[2], d[3], d[4], d[5], o + 6 * r * xs, xs, lanes);
    }
    _Pragma("clang loop unroll(full)") for (i32 q = 0; q < 6; q++) {
      v128_t d[6];
      _Pragma("clang loop unroll(full)") for (i32 r = 0; r < 6; r++) d[r] = wino_load(o + (6 * r + q) * xs, lanes);
      wino4_in_1d(d[0], d[1], d[2], d[3], d[4], d[5], o + q * xs, 6 * xs, lanes);
    }
  }
}

static void wino4_input_tile(const f32 *xb, i32 hp, i32 wp, i32 ci, i32 y0, i32 x0, f32 *v, i32 xs) {
  wino4_input_tile_at(xb, hp, wp, ci, y0, x0, v, xs, 0);
}

static void wino4_input_tile_full(const f32 *xb, i32 wp, i32 ci, i32 y0, i32 x0, f32 *v, i32 xs) {
  wino4_input_tile_at(xb, 0, wp, ci, y0, x0, v, xs, 1);
}

// The 1-D output transform of 6 vectors: 4 results.
INLINE void wino4_out_1d(v128_t m0, v128_t m1, v128_t m2, v128_t m3, v128_t m4, v128_t m5, v128_t *y) {
  const v128_t a = wasm_f32x4_add(m1, m2), b = wasm_f32x4_sub(m1, m2);
  const v128_t c = wasm_f32x4_add(m3, m4), d = wasm_f32x4_sub(m3, m4);
  const v128_t two = wasm_f32x4_splat(2.0f), four = wasm_f32x4_splat(4.0f), eight = wasm_f32x4_splat(8.0f);
  y[0] = wasm_f32x4_add(wasm_f32x4_add(m0, a), c);
  y[1] = wasm_f32x4_add(b, wasm_f32x4_mul(two, d));
  y[2] = wasm_f32x4_add(a, wasm_f32x4_mul(four, c));
  y[3] = wasm_f32x4_add(wasm_f32x4_add(b, wasm_f32x4_mul(eight, d)), m5);
}

// A^T m A of one tile's products (m[ξ] at m + ξ·32, overwritten by the row pass) to the output
// pixels of the 4×4 tile at (oy, ox) that exist, with the layer's epilogue: + bias (NULL: none;
// this channel block's), then relu (act 1), then, for pool ≥ 0, the 2×2/2 pooling of the tile's
// windows (0: max, NaN propagating as lenet_pool_2x2's; 1: average) written to the pooled output
// o [ph, pw, co] — the same float32 operations, in the same order, as lenet_bias_act then
// lenet_pool_2x2. Inlined, so that the plain call (no bias, act 0, pool −1) keeps no branch of it.
INLINE void wino4_output_tile_epilogue(f32 *m, f32 *o, i32 oy, i32 ox, i32 oh, i32 ow, i32 co, i32 lanes,
                                       const f32 *bias, i32 act, i32 pool, i32 full) {
  // full: the whole tile lies inside the output and lanes is 16 (the caller checked), so that the
  // inlined copy for it stores without a bound check.
  if (full) lanes = 16;
  const i32 rows = full ? 4 : oh - oy < 4 ? oh - oy : 4, cols = full ? 4 : ow - ox < 4 ? ow - ox : 4;
  const i32 ph = oh / 2, pw = ow / 2, py = oy / 2, px = ox / 2;
  const v128_t zero = wasm_f32x4_splat(0.0f), quarter = wasm_f32x4_splat(0.25f);
  for (i32 k = 0; 4 * k < lanes; k++) {
    const i32 n = lanes - 4 * k < 4 ? lanes - 4 * k : 4;
    const v128_t b = bias ? wino_load(bias + 4 * k, n) : zero;
    _Pragma("clang loop unroll(full)") for (i32 r = 0; r < 6; r++) {
      f32 *mr = m + 6 * r * 32 + 4 * k;
      v128_t y[4];
      wino4_out_1d(wasm_v128_load(mr), wasm_v128_load(mr + 32), wasm_v128_load(mr + 64), wasm_v128_load(mr + 96),
                   wasm_v128_load(mr + 128), wasm_v128_load(mr + 160), y);
      _Pragma("clang loop unroll(full)") for (i32 j = 0; j < 4; j++) wasm_v128_store(mr + 32 * j, y[j]);
    }
    // Unpooled, each column is stored as it is computed (columns past the output skipped); pooled,
    // the columns are kept for the windows.
    v128_t y[4][4];  // [column][row]
    f32 *p = o + (oy * ow + ox) * co + 4 * k;
    _Pragma("clang loop unroll(full)") for (i32 j = 0; j < 4; j++) {
      if (pool < 0 && j >= cols) continue;
      const f32 *mc = m + j * 32 + 4 * k;
      wino4_out_1d(wasm_v128_load(mc), wasm_v128_load(mc + 192), wasm_v128_load(mc + 384),
                   wasm_v128_load(mc + 576), wasm_v128_load(mc + 768), wasm_v128_load(mc + 960), y[j]);
      _Pragma("clang loop unroll(full)") for (i32 i = 0; i < 4; i++) {
        if (bias) y[j][i] = wasm_f32x4_add(y[j][i], b);
        if (act == 1) y[j][i] = wasm_f32x4_pmax(y[j][i], zero);
        if (pool < 0 && i < rows) store_lanes(p + (i * ow + j) * co, y[j][i], n);
      }
    }
    if (pool < 0) continue;
    _Pragma("clang loop unroll(full)") for (i32 a = 0; a < 2; a++)
      _Pragma("clang loop unroll(full)") for (i32 c = 0; c < 2; c++) {
        if (py + a >= ph || px + c >= pw) continue;
        const v128_t a0 = y[2 * c][2 * a], a1 = y[2 * c + 1][2 * a];
        const v128_t a2 = y[2 * c][2 * a + 1], a3 = y[2 * c + 1][2 * a + 1];
        const v128_t r = pool == 0 ? wasm_f32x4_max(wasm_f32x4_max(a0, a1), wasm_f32x4_max(a2, a3))
                                   : wasm_f32x4_mul(wasm_f32x4_add(wasm_f32x4_add(a0, a1), wasm_f32x4_add(a2, a3)), quarter);
        store_lanes(o + ((py + a) * pw + px + c) * co + 4 * k, r, n);
      }
  }
}

static void wino4_output_tile(f32 *m, f32 *o, i32 oy, i32 ox, i32 oh, i32 ow, i32 co, i32 lanes) {
  wino4_output_tile_epilogue(m, o, oy, ox, oh, ow, co, lanes, 0, 0, -1, 0);
}

static void wino4_output_tile_full(f32 *m, f32 *o, i32 oy, i32 ox, i32 ow, i32 co) {
  wino4_output_tile_epilogue(m, o, oy, ox, 0, ow, co, 16, 0, 0, -1, 1);
}

static void wino4_output_tile_epilogue_full(f32 *m, f32 *o, i32 oy, i32 ox, i32 oh, i32 ow, i32 co,
                                            const f32 *bias, i32 act, i32 pool) {
  wino4_output_tile_epilogue(m, o, oy, ox, oh, ow, co, 16, bias, act, pool, 1);
}

// xp: input [n, hp, wp, ci] with `top` rows and `left` columns of zero padding before it that are
// not stored (0 when xp is padded already; rows and columns past it read as zeros too), so that
// oh ≤ top + hp − 2 + (bottom padding); u: lenet_wino_filter's
// blocks for the same m; out [n, oh, ow, co]. m × m output tiles are
// transformed `band` tile rows at a time; scratch: band·⌈ow/m⌉·(m+2)²·ci + (m+2)²·32 floats.
// The epilogue of wino4_output_tile_epilogue (wino_output_tile_epilogue for m = 2) when bias (co
// floats) is not NULL, act is 1 or pool ≥ 0 (out then [n, ⌊oh/2⌋, ⌊ow/2⌋, co]): the inference pass's bias, relu and
// pooling without another pass over the output.
static void conv_winograd(const f32 *xp, const f32 *u, f32 *out, i32 n, i32 hp, i32 wp, i32 ci, i32 oh, i32 ow,
                          i32 co, i32 m, i32 band, f32 *scratch, const f32 *bias, i32 act, i32 pool, i32 top,
                          i32 left, i32 interior);

EXPORT(lenet_conv_winograd)
void lenet_conv_winograd(const f32 *xp, const f32 *u, f32 *out, i32 n, i32 hp, i32 wp, i32 ci, i32 oh, i32 ow,
                         i32 co, i32 m, i32 band, f32 *scratch, const f32 *bias, i32 act, i32 pool, i32 top,
                         i32 left) {
  conv_winograd(xp, u, out, n, hp, wp, ci, oh, ow, co, m, band, scratch, bias, act, pool, top, left, 0);
}

// lenet_conv_winograd with F(4×4) tiles that lie inside the input and the output (and ci a
// multiple of 4, 16 channels in the block) transformed by copies of the transforms without their
// bound checks: every load and store unconditional. The same operations on the same values, bit
// for bit lenet_conv_winograd's.
EXPORT(lenet_conv_winograd_interior)
void lenet_conv_winograd_interior(const f32 *xp, const f32 *u, f32 *out, i32 n, i32 hp, i32 wp, i32 ci, i32 oh,
                                  i32 ow, i32 co, i32 m, i32 band, f32 *scratch, const f32 *bias, i32 act, i32 pool,
                                  i32 top, i32 left) {
  conv_winograd(xp, u, out, n, hp, wp, ci, oh, ow, co, m, band, scratch, bias, act, pool, top, left, 1);
}

static void conv_winograd(const f32 *xp, const f32 *u, f32 *out, i32 n, i32 hp, i32 wp, i32 ci, i32 oh, i32 ow,
                          i32 co, i32 m, i32 band, f32 *scratch, const f32 *bias, i32 act, i32 pool, i32 top,
                          i32 left, i32 interior) {
  const i32 nxi = (m + 2) * (m + 2), th = (oh + m - 1) / m, tw = (ow + m - 1) / m, tileStride = nxi * ci;
  const i32 epilogue = bias != 0 || act == 1 || pool >= 0;
  const i32 outImage = (pool >= 0 ? (oh / 2) * (ow / 2) : oh * ow) * co;
  f32 *prod = scratch + band * tw * tileStride;
  for (i32 b = 0; b < n; b++) {
    const f32 *xb = xp + b * hp * wp * ci;
    f32 *ob = out + b * outImage;
    for (i32 ty0 = 0; ty0 < th; ty0 += band) {
      const i32 tiles = (th - ty0 < band ? th - ty0 : band) * tw;
      for (i32 t = 0; t < tiles; t++) {
        f32 *v = scratch + t * tileStride;
        const i32 y0 = m * (ty0 + t / tw), x0 = m * (t % tw);
        const i32 inside = y0 >= top && x0 >= left && y0 - top + 6 <= hp && x0 - left + 6 <= wp && ci % 4 == 0;
        if (m == 4 && interior && inside) wino4_input_tile_full(xb, wp, ci, y0 - top, x0 - left, v, ci);
        else if (m == 4) wino4_input_tile(xb, hp, wp, ci, y0 - top, x0 - left, v, ci);
        else wino_input_tile(xb, hp, wp, ci, y0 - top, x0 - left, v);
      }
      for (i32 cb = 0; cb * 16 < co; cb++) {
        const i32 lanes = co - cb * 16 < 16 ? co - cb * 16 : 16;
        const f32 *ub = u + cb * nxi * ci * 16;
        f32 *o = ob + cb * 16;
        for (i32 t = 0; t < tiles; t += 2) {
          const i32 pair = t + 1 < tiles;
          if (pair) wino_gemm_2(scratch + t * tileStride, tileStride, ub, ci, prod, nxi);
          else wino_gemm_1(scratch + t * tileStride, tileStride, ub, ci, prod, nxi);
          for (i32 k = 0; k <= pair; k++) {
            const i32 oy = m * (ty0 + (t + k) / tw), ox = m * ((t + k) % tw);
            const i32 full = interior && m == 4 && lanes == 16 && oy + 4 <= oh && ox + 4 <= ow;
            if (full && epilogue)
              wino4_output_tile_epilogue_full(prod + 16 * k, o, oy, ox, oh, ow, co, bias ? bias + cb * 16 : 0, act, pool);
            else if (full) wino4_output_tile_full(prod + 16 * k, o, oy, ox, ow, co);
            else if (epilogue && m == 4)
              wino4_output_tile_epilogue(prod + 16 * k, o, oy, ox, oh, ow, co, lanes, bias ? bias + cb * 16 : 0, act,
                                         pool, 0);
            else if (epilogue)
              wino_output_tile_epilogue(prod + 16 * k, o, oy, ox, oh, ow, co, lanes, bias ? bias + cb * 16 : 0, act,
                                        pool);
            else if (m == 4) wino4_output_tile(prod + 16 * k, o, oy, ox, oh, ow, co, lanes);
            else wino_output_tile(prod + 16 * k, o, oy, ox, oh, ow, co, lanes);
          }
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Mixed tiles (round 13): an output whose side is not a multiple of 4 (14, 7, 3: keras-deep's
// maps) is covered exactly by F(4×4) tiles inside and narrower F(r×c, 3×3) tiles (r, c ∈ {2, 3,
// 4}) along its bottom and right edges, instead of F(4×4) tiles whose outputs past the edge are
// computed and thrown away: on 14 × 14, 4·4·36 = 576 products per channel pair become
// 9·36 + 6·24 + 16 = 484; on 7 × 7, 144 become 121; on 3 × 3, 36 become 25. The tiles are
// separable: rows and columns each take the 1-D transforms of their own side. F(3, 3) (points
// 0, 1, −1, 2, ∞):
//   input  f(d0..d4) = (2d0 − d1 − 2d2 + d3, −2d1 − d2 + d3, 2d1 − 3d2 + d3, d3 − d1,
//                       2d1 − d2 − 2d3 + d4)
//   filter h(g0..g2) = (g0/2, −(g0 + g1 + g2)/2, (g1 − g0 − g2)/6, (g0 + 2g1 + 4g2)/6, g2)
//   output a(m0..m4) = (m0 + m1 + m2 + m3, m1 − m2 + 2m3, m1 + m2 + 4m3 + m4)
// F(2, 3) and F(4, 3) are those above. The F(4×4) tiles run wino4_input_tile / wino4_output_tile
// as lenet_conv_winograd does: the same values, bit for bit, where both have those tiles.

// The 1-D input transform of F(m, 3): m + 2 values d to q, q + s, … (lanes channels).
INLINE void winom_in_1d(i32 m, const v128_t *d, f32 *q, i32 s, i32 lanes) {
  if (m == 4) {
    wino4_in_1d(d[0], d[1], d[2], d[3], d[4], d[5], q, s, lanes);
  } else if (m == 3) {
    const v128_t two = wasm_f32x4_splat(2.0f), three = wasm_f32x4_splat(3.0f);
    const v128_t d31 = wasm_f32x4_sub(d[3], d[1]);
    store_lanes(q, wasm_f32x4_add(wasm_f32x4_sub(wasm_f32x4_mul(two, wasm_f32x4_sub(d[0], d[2])), d[1]), d[3]), lanes);
    store_lanes(q + s, wasm_f32x4_sub(wasm_f32x4_sub(d[3], d[2]), wasm_f32x4_mul(two, d[1])), lanes);
    store_lanes(q + 2 * s, wasm_f32x4_add(wasm_f32x4_sub(wasm_f32x4_mul(two, d[1]), wasm_f32x4_mul(three, d[2])), d[3]),
                lanes);
    store_lanes(q + 3 * s, d31, lanes);
    store_lanes(q + 4 * s, wasm_f32x4_add(wasm_f32x4_sub(wasm_f32x4_mul(two, wasm_f32x4_neg(d31)), d[2]), d[4]), lanes);
  } else {
    store_lanes(q, wasm_f32x4_sub(d[0], d[2]), lanes);
    store_lanes(q + s, wasm_f32x4_add(d[1], d[2]), lanes);
    store_lanes(q + 2 * s, wasm_f32x4_sub(d[2], d[1]), lanes);
    store_lanes(q + 3 * s, wasm_f32x4_sub(d[1], d[3]), lanes);
  }
}

// The 1-D output transform of F(m, 3): m + 2 products to m results.
INLINE void winom_out_1d(i32 m, const v128_t *p, v128_t *y) {
  if (m == 4) {
    wino4_out_1d(p[0], p[1], p[2], p[3], p[4], p[5], y);
  } else if (m == 3) {
    const v128_t two = wasm_f32x4_splat(2.0f), four = wasm_f32x4_splat(4.0f);
    const v128_t a = wasm_f32x4_add(p[1], p[2]);
    y[0] = wasm_f32x4_add(wasm_f32x4_add(p[0], a), p[3]);
    y[1] = wasm_f32x4_add(wasm_f32x4_sub(p[1], p[2]), wasm_f32x4_mul(two, p[3]));
    y[2] = wasm_f32x4_add(wasm_f32x4_add(a, wasm_f32x4_mul(four, p[3])), p[4]);
  } else {
    y[0] = wasm_f32x4_add(wasm_f32x4_add(p[0], p[1]), p[2]);
    y[1] = wasm_f32x4_sub(wasm_f32x4_sub(p[1], p[2]), p[3]);
  }
}

// The 1-D filter transform of F(m, 3): 3 taps to m + 2 values.
INLINE void winom_filter_1d(i32 m, v128_t g0, v128_t g1, v128_t g2, v128_t *h) {
  if (m == 4) {
    wino4_filter_1d(g0, g1, g2, h);
  } else if (m == 3) {
    const v128_t half = wasm_f32x4_splat(0.5f), s6 = wasm_f32x4_splat(1.0f / 6.0f);
    const v128_t two = wasm_f32x4_splat(2.0f), four = wasm_f32x4_splat(4.0f);
    const v128_t even = wasm_f32x4_add(g0, g2);
    h[0] = wasm_f32x4_mul(half, g0);
    h[1] = wasm_f32x4_neg(wasm_f32x4_mul(half, wasm_f32x4_add(even, g1)));
    h[2] = wasm_f32x4_mul(s6, wasm_f32x4_sub(g1, even));
    h[3] = wasm_f32x4_mul(s6, wasm_f32x4_add(wasm_f32x4_add(g0, wasm_f32x4_mul(two, g1)), wasm_f32x4_mul(four, g2)));
    h[4] = g2;
  } else {
    const v128_t half = wasm_f32x4_splat(0.5f);
    h[0] = g0;
    h[1] = wasm_f32x4_mul(half, wasm_f32x4_add(wasm_f32x4_add(g0, g1), g2));
    h[2] = wasm_f32x4_mul(half, wasm_f32x4_add(wasm_f32x4_sub(g0, g1), g2));
    h[3] = g2;
  }
}

// The filter transforms of one shape (mr × mc output tiles) to u[block][ξ][i][16], ξ = (mc + 2)·row
// + column (lenet_wino_filter's layout for that shape).
INLINE void winom_filter_shape(const f32 *w, f32 *u, i32 ci, i32 co, i32 flip, i32 mr, i32 mc) {
  const i32 outc = flip ? ci : co, inc = flip ? co : ci, blocks = (outc + 15) / 16;
  const i32 pr = mr + 2, pc = mc + 2, nxi = pr * pc, xs = inc * 16;
  for (i32 cb = 0; cb < blocks; cb++)
    for (i32 i = 0; i < inc; i++)
      for (i32 l = 0; l < 16; l += 4) {
        v128_t g[3][3];
        wino_filter_taps(w, ci, co, flip, outc, i, cb * 16 + l, g);
        f32 *dst = u + ((cb * nxi) * inc + i) * 16 + l;
        v128_t r[6][3];
        _Pragma("clang loop unroll(full)") for (i32 b = 0; b < 3; b++) {
          v128_t h[6];
          winom_filter_1d(mr, g[0][b], g[1][b], g[2][b], h);
          _Pragma("clang loop unroll(full)") for (i32 a = 0; a < 6; a++) if (a < pr) r[a][b] = h[a];
        }
        _Pragma("clang loop unroll(full)") for (i32 a = 0; a < 6; a++) {
          if (a >= pr) continue;
          v128_t h[6];
          winom_filter_1d(mc, r[a][0], r[a][1], r[a][2], h);
          _Pragma("clang loop unroll(full)") for (i32 b = 0; b < 6; b++) if (b < pc) wasm_v128_store(dst + (pc * a + b) * xs, h[b]);
        }
      }
}

#define WINOM_SHAPES(X) X(4, 4) X(4, 3) X(4, 2) X(3, 4) X(3, 3) X(3, 2) X(2, 4) X(2, 3) X(2, 2)

static NOINLINE void winom_filter_any(const f32 *w, f32 *u, i32 ci, i32 co, i32 flip, i32 mr, i32 mc) {
#define WINOM_FILTER_CASE(R, C) \
  if (mr == R && mc == C) return winom_filter_shape(w, u, ci, co, flip, R, C);
  WINOM_SHAPES(WINOM_FILTER_CASE)
#undef WINOM_FILTER_CASE
}

// Floats of one shape's transformed filter: 16·blocks·inc·(mr + 2)(mc + 2).
static i32 winom_shape_floats(i32 blocks16inc, i32 mr, i32 mc) { return blocks16inc * (mr + 2) * (mc + 2); }

// lenet_wino_filter for the mixed tiles of an oh × ow output, er = oh mod 4 rows and ec = ow mod
// 4 columns past its last whole 4 (neither 1): the shapes it has tiles of, 4×4, 4×ec, er×4,
// er×ec, one after the other (3 × 3 has only er×ec), 16·blocks·inc·(mr + 2)(mc + 2) floats each.
EXPORT(lenet_wino_filter_mixed)
void lenet_wino_filter_mixed(const f32 *w, f32 *u, i32 ci, i32 co, i32 flip, i32 oh, i32 ow) {
  const i32 outc = flip ? ci : co, inc = flip ? co : ci, b16 = (outc + 15) / 16 * 16 * inc;
  const i32 th = oh / 4, tw = ow / 4, er = oh % 4, ec = ow % 4;
  if (th > 0 && tw > 0) {
    winom_filter_any(w, u, ci, co, flip, 4, 4);
    u += winom_shape_floats(b16, 4, 4);
  }
  if (th > 0 && ec) {
    winom_filter_any(w, u, ci, co, flip, 4, ec);
    u += winom_shape_floats(b16, 4, ec);
  }
  if (er && tw > 0) {
    winom_filter_any(w, u, ci, co, flip, er, 4);
    u += winom_shape_floats(b16, er, 4);
  }
  if (er && ec) winom_filter_any(w, u, ci, co, flip, er, ec);
}

// B^T d B of the (mr + 2) × (mc + 2) patch at (y0, x0) (outside the image read as zeros), for
// every channel, to v[ξ · xs + channel], ξ = (mc + 2)·row + column.
INLINE void winom_input_tile(const f32 *xb, i32 hp, i32 wp, i32 ci, i32 y0, i32 x0, f32 *v, i32 xs, i32 mr, i32 mc) {
  const i32 pr = mr + 2, pc = mc + 2;
  const i32 rows = hp - y0 < pr ? hp - y0 : pr, cols = wp - x0 < pc ? wp - x0 : pc;
  const i32 r0 = y0 < 0 ? -y0 : 0, q0 = x0 < 0 ? -x0 : 0;
  const i32 wpci = wp * ci;
  const v128_t z = wasm_f32x4_splat(0.0f);
  for (i32 c = 0; c < ci; c += 4) {
    const i32 lanes = ci - c < 4 ? ci - c : 4;
    const i32 at = y0 * wpci + x0 * ci + c;
    f32 *o = v + c;
    _Pragma("clang loop unroll(full)") for (i32 r = 0; r < 6; r++) {
      if (r >= pr) continue;
      v128_t d[6];
      _Pragma("clang loop unroll(full)") for (i32 q = 0; q < 6; q++)
        d[q] = q < pc && r >= r0 && r < rows && q >= q0 && q < cols ? wino_load(xb + at + r * wpci + q * ci, lanes) : z;
      winom_in_1d(mc, d, o + pc * r * xs, xs, lanes);
    }
    _Pragma("clang loop unroll(full)") for (i32 q = 0; q < 6; q++) {
      if (q >= pc) continue;
      v128_t d[6];
      _Pragma("clang loop unroll(full)") for (i32 r = 0; r < 6; r++) d[r] = r < pr ? wino_load(o + (pc * r + q) * xs, lanes) : z;
      winom_in_1d(mr, d, o + q * xs, pc * xs, lanes);
    }
  }
}

// A^T m A of one mr × mc tile's products (m[ξ] at m + ξ·32, overwritten by the row pass) to the
// output pixels of the tile at (oy, ox) that exist, `lanes` channels at o.
INLINE void winom_output_tile(f32 *m, f32 *o, i32 oy, i32 ox, i32 oh, i32 ow, i32 co, i32 lanes, i32 mr, i32 mc) {
  const i32 pr = mr + 2, pc = mc + 2;
  const i32 rows = oh - oy < mr ? oh - oy : mr, cols = ow - ox < mc ? ow - ox : mc;
  const v128_t z = wasm_f32x4_splat(0.0f);
  for (i32 k = 0; 4 * k < lanes; k++) {
    const i32 n = lanes - 4 * k < 4 ? lanes - 4 * k : 4;
    _Pragma("clang loop unroll(full)") for (i32 r = 0; r < 6; r++) {
      if (r >= pr) continue;
      f32 *mr_ = m + pc * r * 32 + 4 * k;
      v128_t p[6], y[4];
      _Pragma("clang loop unroll(full)") for (i32 q = 0; q < 6; q++) p[q] = q < pc ? wasm_v128_load(mr_ + 32 * q) : z;
      winom_out_1d(mc, p, y);
      _Pragma("clang loop unroll(full)") for (i32 j = 0; j < 4; j++) if (j < mc) wasm_v128_store(mr_ + 32 * j, y[j]);
    }
    f32 *pk = o + (oy * ow + ox) * co + 4 * k;
    _Pragma("clang loop unroll(full)") for (i32 j = 0; j < 4; j++) {
      if (j >= mc || j >= cols) continue;
      const f32 *mc_ = m + j * 32 + 4 * k;
      v128_t p[6], y[4];
      _Pragma("clang loop unroll(full)") for (i32 r = 0; r < 6; r++) p[r] = r < pr ? wasm_v128_load(mc_ + pc * 32 * r) : z;
      winom_out_1d(mr, p, y);
      _Pragma("clang loop unroll(full)") for (i32 i = 0; i < 4; i++) if (i < mr && i < rows) store_lanes(pk + (i * ow + j) * co, y[i], n);
    }
  }
}

// The mr × mc tiles of n images, `per` an image, tile k of an image at (ys + 4·(k / cols), xs +
// 4·(k % cols)) of its output, `capacity` at a time (across images, so that the few edge tiles
// of an image still pair up for the products): their input transforms, then per block of 16
// output channels the products of tile pairs and their output transforms (as conv_winograd).
INLINE void winom_group(const f32 *xp, f32 *out, i32 n, i32 hp, i32 wp, i32 ci, i32 oh, i32 ow, i32 co,
                        const f32 *u, f32 *scratch, i32 capacity, i32 per, i32 ys, i32 xs, i32 cols, i32 top,
                        i32 left, i32 interior, i32 mr, i32 mc) {
  const i32 nxi = (mr + 2) * (mc + 2), tileStride = 36 * ci, count = n * per;
  f32 *prod = scratch + capacity * tileStride;
  for (i32 t0 = 0; t0 < count; t0 += capacity) {
    const i32 tiles = count - t0 < capacity ? count - t0 : capacity;
    for (i32 t = 0; t < tiles; t++) {
      f32 *v = scratch + t * tileStride;
      const i32 b = (t0 + t) / per, k = (t0 + t) % per;
      const f32 *xb = xp + b * hp * wp * ci;
      const i32 y0 = ys + 4 * (k / cols), x0 = xs + 4 * (k % cols);
      if (mr == 4 && mc == 4) {
        const i32 inside = y0 >= top && x0 >= left && y0 - top + 6 <= hp && x0 - left + 6 <= wp && ci % 4 == 0;
        if (interior && inside) wino4_input_tile_full(xb, wp, ci, y0 - top, x0 - left, v, ci);
        else wino4_input_tile(xb, hp, wp, ci, y0 - top, x0 - left, v, ci);
      } else {
        winom_input_tile(xb, hp, wp, ci, y0 - top, x0 - left, v, ci, mr, mc);
      }
    }
    for (i32 cb = 0; cb * 16 < co; cb++) {
      const i32 lanes = co - cb * 16 < 16 ? co - cb * 16 : 16;
      const f32 *ub = u + cb * nxi * ci * 16;
      for (i32 t = 0; t < tiles; t += 2) {
        const i32 pair = t + 1 < tiles;
        if (pair) wino_gemm_2(scratch + t * tileStride, tileStride, ub, ci, prod, nxi);
        else wino_gemm_1(scratch + t * tileStride, tileStride, ub, ci, prod, nxi);
        for (i32 k = 0; k <= pair; k++) {
          const i32 b = (t0 + t + k) / per, j = (t0 + t + k) % per;
          f32 *o = out + b * oh * ow * co + cb * 16;
          const i32 oy = ys + 4 * (j / cols), ox = xs + 4 * (j % cols);
          if (mr == 4 && mc == 4) {
            if (interior && lanes == 16 && oy + 4 <= oh && ox + 4 <= ow) wino4_output_tile_full(prod + 16 * k, o, oy, ox, ow, co);
            else wino4_output_tile(prod + 16 * k, o, oy, ox, oh, ow, co, lanes);
          } else {
            winom_output_tile(prod + 16 * k, o, oy, ox, oh, ow, co, lanes, mr, mc);
          }
        }
      }
    }
  }
}

static NOINLINE void winom_group_any(const f32 *xp, f32 *out, i32 n, i32 hp, i32 wp, i32 ci, i32 oh, i32 ow,
                                     i32 co, const f32 *u, f32 *scratch, i32 capacity, i32 per, i32 ys, i32 xs,
                                     i32 cols, i32 top, i32 left, i32 interior, i32 mr, i32 mc) {
#define WINOM_GROUP_CASE(R, C)                                                                                 \
  if (mr == R && mc == C)                                                                                      \
    return winom_group(xp, out, n, hp, wp, ci, oh, ow, co, u, scratch, capacity, per, ys, xs, cols, top, left, \
                       interior, R, C);
  WINOM_SHAPES(WINOM_GROUP_CASE)
#undef WINOM_GROUP_CASE
}

// lenet_conv_winograd (F(4×4), no epilogue) with mixed tiles: u is lenet_wino_filter_mixed's for
// oh, ow; scratch: capacity·36·ci + 36·32 floats (capacity:
// tiles transformed at a time). interior: the F(4×4) tiles inside the image and the output
// transformed without bound checks, as lenet_conv_winograd_interior.
EXPORT(lenet_conv_winograd_mixed)
void lenet_conv_winograd_mixed(const f32 *xp, const f32 *u, f32 *out, i32 n, i32 hp, i32 wp, i32 ci, i32 oh, i32 ow,
                               i32 co, i32 capacity, f32 *scratch, i32 top, i32 left, i32 interior) {
  const i32 th = oh / 4, tw = ow / 4, er = oh % 4, ec = ow % 4;
  const i32 b16 = (co + 15) / 16 * 16 * ci;
  if (th > 0 && tw > 0) {
    winom_group_any(xp, out, n, hp, wp, ci, oh, ow, co, u, scratch, capacity, th * tw, 0, 0, tw, top, left, interior, 4, 4);
    u += winom_shape_floats(b16, 4, 4);
  }
  if (th > 0 && ec) {
    winom_group_any(xp, out, n, hp, wp, ci, oh, ow, co, u, scratch, capacity, th, 0, 4 * tw, 1, top, left, interior, 4, ec);
    u += winom_shape_floats(b16, 4, ec);
  }
  if (er && tw > 0) {
    winom_group_any(xp, out, n, hp, wp, ci, oh, ow, co, u, scratch, capacity, tw, 4 * th, 0, tw, top, left, interior, er, 4);
    u += winom_shape_floats(b16, er, 4);
  }
  if (er && ec)
    winom_group_any(xp, out, n, hp, wp, ci, oh, ow, co, u, scratch, capacity, 1, 4 * th, 4 * tw, 1, top, left, interior, er, ec);
}

// ---------------------------------------------------------------------------------------------
// Winograd F(4×4, 3×3) filter gradient. The forward tile is Y = A^T [(G g G^T) ⊙ V] A with
// V = B^T d B, so dg = G^T (Σ_tiles M ⊙ V) G with M = A dY A^T (dY's 4×4 tile, zeros past the
// output): per point ξ a product (ci × tiles)·(tiles × co) summed over every tile of the batch
// (36 multiplies per 4×4 tile and channel pair where the direct gradient does 144), then one
// small back transform per channel pair. 1-D transforms:
//   dY    e(e0..e3) = (e0, e0 + e1 + e2 + e3, e0 − e1 + e2 − e3, e0 + 2e1 + 4e2 + 8e3,
//                      e0 − 2e1 + 4e2 − 8e3, e3)
//   back  k(s0..s5) = (s0/4 − (s1 + s2)/6 + (s3 + s4)/24, (s2 − s1)/6 + (s3 − s4)/12,
//                      (s3 + s4 − s1 − s2)/6 + s5)
// Tiles are transformed `band` at a time to V[ξ][tile][ci] and M[ξ][tile][co16] (co16 = co rounded
// up to 16; each point's tiles contiguous, so that its products read them in order), then their
// products added into S[ξ][ci][co16] with a 2-channel × 16-channel register tile over the tiles.

// The 1-D dY transform of 4 vectors to 6, at q with stride s (full vectors).
INLINE void wino4_dy_1d(v128_t e0, v128_t e1, v128_t e2, v128_t e3, f32 *q, i32 s) {
  const v128_t two = wasm_f32x4_splat(2.0f), four = wasm_f32x4_splat(4.0f), eight = wasm_f32x4_splat(8.0f);
  const v128_t even = wasm_f32x4_add(e0, e2), odd = wasm_f32x4_add(e1, e3);
  const v128_t even2 = wasm_f32x4_add(e0, wasm_f32x4_mul(four, e2));
  const v128_t odd2 = wasm_f32x4_add(wasm_f32x4_mul(two, e1), wasm_f32x4_mul(eight, e3));
  wasm_v128_store(q, e0);
  wasm_v128_store(q + s, wasm_f32x4_add(even, odd));
  wasm_v128_store(q + 2 * s, wasm_f32x4_sub(even, odd));
  wasm_v128_store(q + 3 * s, wasm_f32x4_add(even2, odd2));
  wasm_v128_store(q + 4 * s, wasm_f32x4_sub(even2, odd2));
  wasm_v128_store(q + 5 * s, e3);
}

// A dY A^T of the 4×4 dy tile at (y0, x0) of one image (pixels past oh, ow and channels past co
// read as zeros) to m[ξ · xs + channel], channels < co16 ≤ xs: along the rows into m, then along
// its columns in place.
static void wino4_dy_tile(const f32 *dyb, i32 oh, i32 ow, i32 co, i32 co16, i32 y0, i32 x0, f32 *m, i32 xs) {
  const i32 rows = oh - y0 < 4 ? oh - y0 : 4, cols = ow - x0 < 4 ? ow - x0 : 4;
  const v128_t z = wasm_f32x4_splat(0.0f);
  for (i32 c = 0; c < co16; c += 4) {
    const i32 lanes = co - c < 4 ? co - c : 4;
    const f32 *p = dyb + (y0 * ow + x0) * co + c;
    f32 *o = m + c;
    _Pragma("clang loop unroll(full)") for (i32 r = 0; r < 4; r++) {
      v128_t e[4];
      _Pragma("clang loop unroll(full)") for (i32 q = 0; q < 4; q++)
        e[q] = lanes > 0 && r < rows && q < cols ? wino_load(p + (r * ow + q) * co, lanes) : z;
      wino4_dy_1d(e[0], e[1], e[2], e[3], o + 6 * r * xs, xs);
    }
    // Rows 4 and 5 of the row pass are the transform of nothing but rows 0..3: ξ = 6r + q, r < 4.
    _Pragma("clang loop unroll(full)") for (i32 q = 0; q < 6; q++) {
      const f32 *col = o + q * xs;
      wino4_dy_1d(wasm_v128_load(col), wasm_v128_load(col + 6 * xs), wasm_v128_load(col + 12 * xs),
                  wasm_v128_load(col + 18 * xs), o + q * xs, 6 * xs);
    }
  }
}

// s[i][16] += Σ_t v_t[i] · m_t[16] for R channels i (v_t at v + t·vStride, m_t at m + t·mStride).
#define WINO_DW_GEMM(R)                                                                                 \
  static void wino_dw_gemm_##R(const f32 *v, i32 vStride, const f32 *m, i32 mStride, i32 tiles, f32 *s, \
                               i32 co16) {                                                              \
    v128_t acc[R][4];                                                                                   \
    for (i32 r = 0; r < R; r++)                                                                         \
      for (i32 k = 0; k < 4; k++) acc[r][k] = wasm_v128_load(s + r * co16 + 4 * k);                     \
    for (i32 t = 0; t < tiles; t++, v += vStride, m += mStride) {                                       \
      v128_t g[4];                                                                                      \
      for (i32 k = 0; k < 4; k++) g[k] = wasm_v128_load(m + 4 * k);                                     \
      for (i32 r = 0; r < R; r++) {                                                                     \
        const v128_t a = wasm_v128_load32_splat(v + r);                                                 \
        for (i32 k = 0; k < 4; k++) acc[r][k] = LENET_MADD(acc[r][k], a, g[k]);     \
      }                                                                                                 \
    }                                                                                                   \
    for (i32 r = 0; r < R; r++)                                                                         \
      for (i32 k = 0; k < 4; k++) wasm_v128_store(s + r * co16 + 4 * k, acc[r][k]);                     \
  }

WINO_DW_GEMM(2)
WINO_DW_GEMM(1)

// The 1-D back transform of 6 vectors: 3 results.
INLINE void wino4_dw_1d(v128_t s0, v128_t s1, v128_t s2, v128_t s3, v128_t s4, v128_t s5, v128_t *k) {
  const v128_t s6 = wasm_f32x4_splat(1.0f / 6.0f), s12 = wasm_f32x4_splat(1.0f / 12.0f);
  const v128_t s24 = wasm_f32x4_splat(1.0f / 24.0f), q = wasm_f32x4_splat(0.25f);
  const v128_t a = wasm_f32x4_add(s1, s2), b = wasm_f32x4_sub(s2, s1);
  const v128_t c = wasm_f32x4_add(s3, s4), d = wasm_f32x4_sub(s3, s4);
  k[0] = wasm_f32x4_add(wasm_f32x4_sub(wasm_f32x4_mul(q, s0), wasm_f32x4_mul(s6, a)), wasm_f32x4_mul(s24, c));
  k[1] = wasm_f32x4_add(wasm_f32x4_mul(s6, b), wasm_f32x4_mul(s12, d));
  k[2] = wasm_f32x4_add(wasm_f32x4_mul(s6, wasm_f32x4_sub(c, a)), s5);
}

// xp: input padded to [n, hp, wp, ci] with oh ≤ hp − 2, ow ≤ wp − 2 (as lenet_conv_winograd's);
// dy: [n, oh, ow, co]; dw: [3, 3, ci, co], overwritten. Scratch: 36·ci·co16 floats of sums, then
// 36·(band·(ci + co16) + 32) of transformed tiles (co16 = co rounded up to 16).
static void filter_grad_winograd(const f32 *xp, const f32 *dy, f32 *dw, i32 n, i32 hp, i32 wp, i32 ci, i32 oh, i32 ow,
                                 i32 co, i32 band, f32 *scratch, i32 top, i32 left);

EXPORT(lenet_conv_filter_grad_winograd)
void lenet_conv_filter_grad_winograd(const f32 *xp, const f32 *dy, f32 *dw, i32 n, i32 hp, i32 wp, i32 ci, i32 oh,
                                     i32 ow, i32 co, i32 band, f32 *scratch) {
  filter_grad_winograd(xp, dy, dw, n, hp, wp, ci, oh, ow, co, band, scratch, 0, 0);
}

// lenet_conv_filter_grad_winograd on the unpadded input x [n, h, w, ci] (h, w in hp, wp), its
// `top` rows and `left` columns of zero padding before it (and any after it) read as zeros by the
// tile loads, as lenet_conv_winograd reads it: bit for bit the padded input's gradient.
EXPORT(lenet_conv_filter_grad_winograd_unpadded)
void lenet_conv_filter_grad_winograd_unpadded(const f32 *x, const f32 *dy, f32 *dw, i32 n, i32 h, i32 w, i32 ci,
                                              i32 oh, i32 ow, i32 co, i32 band, f32 *scratch, i32 top, i32 left) {
  filter_grad_winograd(x, dy, dw, n, h, w, ci, oh, ow, co, band, scratch, top, left);
}

static void filter_grad_winograd(const f32 *xp, const f32 *dy, f32 *dw, i32 n, i32 hp, i32 wp, i32 ci, i32 oh, i32 ow,
                                 i32 co, i32 band, f32 *scratch, i32 top, i32 left) {
  const i32 co16 = (co + 15) / 16 * 16, th = (oh + 3) / 4, tw = (ow + 3) / 4, per = th * tw, total = n * per;
  // Points 16 floats further apart than their tiles need: at a multiple of 4 KiB apart (bands of
  // 32 tiles of 32 channels) the transforms' 36 points would share one set of the L1 cache.
  const i32 vx = band * ci + 16, mx = band * co16 + 16;
  f32 *s = scratch, *vb = s + 36 * ci * co16, *mb = vb + 36 * vx;
  __builtin_memset(s, 0, (uint32_t)(36 * ci * co16) * 4u);
  for (i32 t0 = 0; t0 < total; t0 += band) {
    const i32 tiles = total - t0 < band ? total - t0 : band;
    for (i32 t = 0; t < tiles; t++) {
      const i32 b = (t0 + t) / per, k = (t0 + t) % per, y0 = 4 * (k / tw), x0 = 4 * (k % tw);
      wino4_input_tile(xp + b * hp * wp * ci, hp, wp, ci, y0 - top, x0 - left, vb + t * ci, vx);
      wino4_dy_tile(dy + b * oh * ow * co, oh, ow, co, co16, y0, x0, mb + t * co16, mx);
    }
    for (i32 xi = 0; xi < 36; xi++)
      for (i32 cb = 0; cb < co16; cb += 16) {
        const f32 *m = mb + xi * mx + cb, *v = vb + xi * vx;
        f32 *sx = s + xi * ci * co16 + cb;
        i32 i = 0;
        for (; i + 2 <= ci; i += 2) wino_dw_gemm_2(v + i, ci, m, co16, tiles, sx + i * co16, co16);
        if (i < ci) wino_dw_gemm_1(v + i, ci, m, co16, tiles, sx + i * co16, co16);
      }
  }
  // dw[a][b][i][c] = (G^T S G)[a][b]: along the columns of S (ξ = 6r + q) into its first three
  // columns in place, then along its rows.
  for (i32 i = 0; i < ci; i++)
    for (i32 c = 0; c < co; c += 4) {
      const i32 lanes = co - c < 4 ? co - c : 4;
      f32 *p = s + i * co16 + c;
      const i32 xs = ci * co16;
      _Pragma("clang loop unroll(full)") for (i32 r = 0; r < 6; r++) {
        f32 *pr = p + 6 * r * xs;
        v128_t k[3];
        wino4_dw_1d(wasm_v128_load(pr), wasm_v128_load(pr + xs), wasm_v128_load(pr + 2 * xs),
                    wasm_v128_load(pr + 3 * xs), wasm_v128_load(pr + 4 * xs), wasm_v128_load(pr + 5 * xs), k);
        _Pragma("clang loop unroll(full)") for (i32 j = 0; j < 3; j++) wasm_v128_store(pr + j * xs, k[j]);
      }
      _Pragma("clang loop unroll(full)") for (i32 j = 0; j < 3; j++) {
        const f32 *pc = p + j * xs;
        v128_t k[3];
        wino4_dw_1d(wasm_v128_load(pc), wasm_v128_load(pc + 6 * xs), wasm_v128_load(pc + 12 * xs),
                    wasm_v128_load(pc + 18 * xs), wasm_v128_load(pc + 24 * xs), wasm_v128_load(pc + 30 * xs), k);
        _Pragma("clang loop unroll(full)") for (i32 a = 0; a < 3; a++)
          store_lanes(dw + ((a * 3 + j) * ci + i) * co + c, k[a], lanes);
      }
    }
}

// ---------------------------------------------------------------------------------------------
// Helper "conv2" (round 12): a conv's whole backward pass with its 2×2/2 max pooling fused.

// The filter gradient of one image from its pooled gradient, skipping the three zeros of each
// window: for each output channel o and filter row a, dWt[o, a, 0 .. run) (run = kw·ci ≤ 32, in
// V vectors, the last one `last` lanes) += Σ over the pooled pixels (raster order) of dy[p, o] ·
// the input run under filter row a at the window's maximum. V accumulators stay in registers over
// the image's pixels: a quarter of the dense kernel's multiply-adds. dwt: [co, kh, 32].
#define SPARSE_DW(V)                                                                                        \
  static NOINLINE void sparse_dw_##V(const f32 *x, const f32 *dy, const uint8_t *arg, f32 *dwt, i32 wp, i32 ci,     \
                            i32 ph, i32 pw, i32 co, i32 kh, i32 last) {                                     \
    const i32 wpci = wp * ci;                                                                               \
    for (i32 o = 0; o < co; o++)                                                                            \
      for (i32 a = 0; a < kh; a++) {                                                                        \
        f32 *out = dwt + (o * kh + a) * 32;                                                                 \
        v128_t acc[V];                                                                                      \
        _Pragma("clang loop unroll(full)") for (i32 v = 0; v < V; v++) acc[v] = wasm_v128_load(out + 4 * v); \
        const f32 *xa = x + a * wpci;                                                                       \
        for (i32 py = 0; py < ph; py++)                                                                     \
          for (i32 px = 0; px < pw; px++) {                                                                 \
            const i32 k = (py * pw + px) * co + o;                                                          \
            const i32 id = arg[k];                                                                          \
            const f32 *at = xa + (2 * py + (id >> 1)) * wpci + (2 * px + (id & 1)) * ci;                    \
            const v128_t g = wasm_v128_load32_splat(dy + k);                                                \
            _Pragma("clang loop unroll(full)") for (i32 v = 0; v + 1 < V; v++)                              \
              acc[v] = LENET_MADD(acc[v], g, wasm_v128_load(at + 4 * v));               \
            const v128_t t = last == 4 ? wasm_v128_load(at + 4 * (V - 1)) : load_lanes(at + 4 * (V - 1), last); \
            acc[V - 1] = LENET_MADD(acc[V - 1], g, t);                                  \
          }                                                                                                 \
        _Pragma("clang loop unroll(full)") for (i32 v = 0; v < V; v++) wasm_v128_store(out + 4 * v, acc[v]); \
      }                                                                                                     \
  }

SPARSE_DW(1)
SPARSE_DW(2)
SPARSE_DW(3)
SPARSE_DW(4)
SPARSE_DW(5)
SPARSE_DW(6)
SPARSE_DW(7)
SPARSE_DW(8)

// sparse_dw_V with all KH filter rows' sums in registers (KH·V ≤ 10: a first layer's short
// runs), so each pixel's maximum and gradient are read once for the KH rows: the same sums in
// the same order (each one over the image's pixels in raster order), so bit for bit its result.
#define SPARSE_DW_ROWS(V, KH)                                                                               \
  static NOINLINE void sparse_dw_rows_##V##x##KH(const f32 *x, const f32 *dy, const uint8_t *arg, f32 *dwt, i32 wp, \
                                        i32 ci, i32 ph, i32 pw, i32 co, i32 last) {                         \
    const i32 wpci = wp * ci;                                                                               \
    for (i32 o = 0; o < co; o++) {                                                                          \
      f32 *out = dwt + o * KH * 32;                                                                         \
      v128_t acc[KH][V];                                                                                    \
      _Pragma("clang loop unroll(full)") for (i32 a = 0; a < KH; a++)                                       \
        _Pragma("clang loop unroll(full)") for (i32 v = 0; v < V; v++) acc[a][v] = wasm_v128_load(out + a * 32 + 4 * v); \
      for (i32 py = 0; py < ph; py++)                                                                       \
        for (i32 px = 0; px < pw; px++) {                                                                   \
          const i32 k = (py * pw + px) * co + o;                                                            \
          const i32 id = arg[k];                                                                            \
          const f32 *at = x + (2 * py + (id >> 1)) * wpci + (2 * px + (id & 1)) * ci;                       \
          const v128_t g = wasm_v128_load32_splat(dy + k);                                                  \
          _Pragma("clang loop unroll(full)") for (i32 a = 0; a < KH; a++) {                                 \
            const f32 *xa = at + a * wpci;                                                                  \
            _Pragma("clang loop unroll(full)") for (i32 v = 0; v + 1 < V; v++)                              \
              acc[a][v] = LENET_MADD(acc[a][v], g, wasm_v128_load(xa + 4 * v));         \
            const v128_t t = last == 4 ? wasm_v128_load(xa + 4 * (V - 1)) : load_lanes(xa + 4 * (V - 1), last); \
            acc[a][V - 1] = LENET_MADD(acc[a][V - 1], g, t);                            \
          }                                                                                                 \
        }                                                                                                   \
      _Pragma("clang loop unroll(full)") for (i32 a = 0; a < KH; a++)                                       \
        _Pragma("clang loop unroll(full)") for (i32 v = 0; v < V; v++) wasm_v128_store(out + a * 32 + 4 * v, acc[a][v]); \
    }                                                                                                       \
  }

// LeNet-5's first layer (5×5, one input channel: a run of 5 floats in 2 vectors).
SPARSE_DW_ROWS(2, 5)

// The input gradient of one image from its pooled gradient, skipping the three zeros of each
// window: for each pooled pixel, a bit mask of its output channels per window maximum (0–3),
// then for each maximum that has some and each filter row a, the input run under it (run = kw·ci
// ≤ 32, V vectors, the last one `last` lanes) += Σ over those channels o (in increasing order) of
// dy[p, o] · Wt[a, o, ·] in V registers: a quarter of the dense gather's multiply-adds. The masks
// (16 channels a compare where co is a multiple of 16) replaced a scalar sort of the channels
// into lists through memory: the same channels in the same order, 13 % less time for LeNet-5's
// second layer (helper lenetb64). dx: the image's padded input gradient [hp, wp, ci], zeroed by
// the caller; wt from lenet_input_grad_filter; co ≤ 64.
#define SPARSE_DX(V)                                                                                        \
  static NOINLINE void sparse_dx_##V(const f32 *dy, const uint8_t *arg, const f32 *wt, f32 *dx, i32 wp, i32 ci,     \
                            i32 ph, i32 pw, i32 co, i32 kh, i32 l4, i32 last) { \
    const i32 wpci = wp * ci;                                                                               \
    for (i32 py = 0; py < ph; py++)                                                                         \
      for (i32 px = 0; px < pw; px++) {                                                                     \
        const i32 k = (py * pw + px) * co;                                                                  \
        /* Four masks in locals, not an array: no C stack (see the top of the file). */                    \
        uint64_t m0 = 0, m1 = 0, m2 = 0, m3 = 0;                                                            \
        if (co % 16 == 0) {                                                                                 \
          for (i32 q = 0; q < co; q += 16) {                                                                \
            const v128_t ids = wasm_v128_load(arg + k + q);                                                 \
            m0 |= (uint64_t)wasm_i8x16_bitmask(wasm_i8x16_eq(ids, wasm_i8x16_splat(0))) << q;               \
            m1 |= (uint64_t)wasm_i8x16_bitmask(wasm_i8x16_eq(ids, wasm_i8x16_splat(1))) << q;               \
            m2 |= (uint64_t)wasm_i8x16_bitmask(wasm_i8x16_eq(ids, wasm_i8x16_splat(2))) << q;               \
            m3 |= (uint64_t)wasm_i8x16_bitmask(wasm_i8x16_eq(ids, wasm_i8x16_splat(3))) << q;               \
          }                                                                                                 \
        } else {                                                                                            \
          for (i32 o = 0; o < co; o++) {                                                                   \
            const i32 id = arg[k + o];                                                                      \
            m0 |= (uint64_t)(id == 0) << o;                                                                 \
            m1 |= (uint64_t)(id == 1) << o;                                                                 \
            m2 |= (uint64_t)(id == 2) << o;                                                                 \
            m3 |= (uint64_t)(id == 3) << o;                                                                 \
          }                                                                                                 \
        }                                                                                                   \
        _Pragma("clang loop unroll(full)") for (i32 c = 0; c < 4; c++) {                                    \
          const uint64_t mc = c == 0 ? m0 : c == 1 ? m1 : c == 2 ? m2 : m3;                                 \
          if (mc == 0) continue;                                                                            \
          f32 *base = dx + (2 * py + (c >> 1)) * wpci + (2 * px + (c & 1)) * ci;                            \
          for (i32 a = 0; a < kh; a++) {                                                                    \
            f32 *d = base + a * wpci;                                                                       \
            v128_t acc[V];                                                                                  \
            _Pragma("clang loop unroll(full)") for (i32 v = 0; v + 1 < V; v++) acc[v] = wasm_v128_load(d + 4 * v); \
            acc[V - 1] = last == 4 ? wasm_v128_load(d + 4 * (V - 1)) : load_lanes(d + 4 * (V - 1), last);  \
            const f32 *wa = wt + a * co * l4;                                                               \
            for (uint64_t m = mc; m != 0; m &= m - 1) {                                                     \
              const i32 o = __builtin_ctzll(m);                                                             \
              const v128_t g = wasm_v128_load32_splat(dy + k + o);                                          \
              const f32 *w = wa + o * l4;                                                                   \
              _Pragma("clang loop unroll(full)") for (i32 v = 0; v < V; v++)                                \
                acc[v] = LENET_MADD(acc[v], g, wasm_v128_load(w + 4 * v));              \
            }                                                                                               \
            _Pragma("clang loop unroll(full)") for (i32 v = 0; v + 1 < V; v++) wasm_v128_store(d + 4 * v, acc[v]); \
            if (last == 4) wasm_v128_store(d + 4 * (V - 1), acc[V - 1]);                                    \
            else store_lanes_partial(d + 4 * (V - 1), acc[V - 1], last);                                    \
          }                                                                                                 \
        }                                                                                                   \
      }                                                                                                     \
  }

SPARSE_DX(1)
SPARSE_DX(2)
SPARSE_DX(3)
SPARSE_DX(4)
SPARSE_DX(5)
SPARSE_DX(6)
SPARSE_DX(7)
SPARSE_DX(8)

// The filter gradient and the padded input gradient of a stride-1 conv2d whose 2×2/2 max pooling
// ran fused with it (lenet_conv_forward_pool2 keeping arg), image by image from the pooled
// gradient: each image's conv-output gradient is scattered (lenet_max_pool_grad_2x2_arg) into
// `scratch` (oh·ow·co floats, in L1 for LeNet's 10×10×16) and read there by
// lenet_conv_filter_grad's and lenet_conv_input_grad's loops for that one image, so the
// full-size gradient is never written out and read back twice. Every sum takes its terms in the
// order those kernels take them from the scattered gradient (dW image by image, pixels in raster
// order), so dw and dxp are bit for bit theirs. With `sparse` (kw·ci ≤ 32) the filter gradient
// skips each window's three zeros instead (sparse_dw_V, its own summation order; scratch then
// holds co·kh·32 more floats), and with `sparseDx` (kw·ci ≤ 32, co ≤ 64) the input gradient
// (sparse_dx_V; scratch then holds co·kh·32 more floats); with both, no gradient is
// scattered at all. `rows`: the sparse filter gradient keeps all filter rows' sums in registers
// where sparse_dw_rows takes the shape (bit for bit the same). xp: [n, hp, wp, ci];
// dy: [n, oh/2, ow/2, co] with the activation's gradient applied; arg: the same as bytes; co a
// multiple of 4 (any with the sparse filter gradient alone); wt from lenet_input_grad_filter; dw: [kh, kw, ci, co], overwritten; dxp:
// [n, hp, wp, ci], overwritten.
EXPORT(lenet_conv_backward_pool2_arg)
void lenet_conv_backward_pool2_arg(const f32 *xp, const f32 *dy, const uint8_t *arg, const f32 *wt, f32 *dw, f32 *dxp,
                                   f32 *scratch, i32 n, i32 hp, i32 wp, i32 ci, i32 oh, i32 ow, i32 co, i32 kh,
                                   i32 kw, i32 l4, i32 sparse, i32 sparseDx, i32 rows) {
  const i32 pooled = (oh / 2) * (ow / 2) * co;
  const i32 image = hp * wp * ci;
  const i32 run = kw * ci;
  f32 *dwt = scratch + oh * ow * co;
  if (sparse) __builtin_memset(dwt, 0, (uint32_t)(co * kh * 32) * 4u);
  if (n == 0 && !sparse) __builtin_memset(dw, 0, (uint32_t)(kh * kw * ci * co) * 4u);
  for (i32 b = 0; b < n; b++) {
    const f32 *x = xp + b * image;
    if (sparse) {
      const f32 *g = dy + b * pooled;
      const uint8_t *id = arg + b * pooled;
      const i32 V = (run + 3) / 4, last = run - 4 * (V - 1), ph = oh / 2, pw = ow / 2;
      // kh < 1000: no two shapes meet.
      i32 shape = rows && kh < 1000 ? V * 1000 + kh : 0;
      switch (shape) {
        case 2 * 1000 + 5: sparse_dw_rows_2x5(x, g, id, dwt, wp, ci, ph, pw, co, last); break;
        default: shape = -1;
      }
      if (shape < 0) switch (V) {
        case 1: sparse_dw_1(x, g, id, dwt, wp, ci, ph, pw, co, kh, last); break;
        case 2: sparse_dw_2(x, g, id, dwt, wp, ci, ph, pw, co, kh, last); break;
        case 3: sparse_dw_3(x, g, id, dwt, wp, ci, ph, pw, co, kh, last); break;
        case 4: sparse_dw_4(x, g, id, dwt, wp, ci, ph, pw, co, kh, last); break;
        case 5: sparse_dw_5(x, g, id, dwt, wp, ci, ph, pw, co, kh, last); break;
        case 6: sparse_dw_6(x, g, id, dwt, wp, ci, ph, pw, co, kh, last); break;
        case 7: sparse_dw_7(x, g, id, dwt, wp, ci, ph, pw, co, kh, last); break;
        default: sparse_dw_8(x, g, id, dwt, wp, ci, ph, pw, co, kh, last); break;
      }
      if (!dxp) continue;
    }
    if (dxp && sparseDx) {
      const i32 V = (run + 3) / 4, last = run - 4 * (V - 1), ph = oh / 2, pw = ow / 2;
      const f32 *g = dy + b * pooled;
      const uint8_t *id = arg + b * pooled;
      f32 *d = dxp + b * image;
      __builtin_memset(d, 0, (uint32_t)image * 4u);
      switch (V) {
        case 1: sparse_dx_1(g, id, wt, d, wp, ci, ph, pw, co, kh, l4, last); break;
        case 2: sparse_dx_2(g, id, wt, d, wp, ci, ph, pw, co, kh, l4, last); break;
        case 3: sparse_dx_3(g, id, wt, d, wp, ci, ph, pw, co, kh, l4, last); break;
        case 4: sparse_dx_4(g, id, wt, d, wp, ci, ph, pw, co, kh, l4, last); break;
        case 5: sparse_dx_5(g, id, wt, d, wp, ci, ph, pw, co, kh, l4, last); break;
        case 6: sparse_dx_6(g, id, wt, d, wp, ci, ph, pw, co, kh, l4, last); break;
        case 7: sparse_dx_7(g, id, wt, d, wp, ci, ph, pw, co, kh, l4, last); break;
        default: sparse_dx_8(g, id, wt, d, wp, ci, ph, pw, co, kh, l4, last); break;
      }
      if (sparse) continue;
    }
    lenet_max_pool_grad_2x2_arg(dy + b * pooled, arg + b * pooled, scratch, 1, oh, ow, co, oh / 2, ow / 2);
    if (!sparse) conv_filter_grad(x, scratch, dw, 1, hp, wp, ci, oh, ow, co, kh, kw, 1, 1, co, b > 0);
    if (dxp && !sparseDx) lenet_conv_input_grad(scratch, wt, dxp + b * image, 1, oh, ow, co, hp, wp, ci, kh, kw, 1, 1, l4);
  }
  if (sparse)
    for (i32 a = 0; a < kh; a++)
      for (i32 j = 0; j < run; j++)
        for (i32 o = 0; o < co; o++) dw[(a * run + j) * co + o] = dwt[(o * kh + a) * 32 + j];
}

// ---------------------------------------------------------------------------------------------
// vgginfer (round 12b): the direct convolution with the bias and a relu after it, image by image,
// for the compiled inference pass's unpooled narrow first layers (vgg-cifar10's 32×32×3 → 32):
// each image's output gets lenet_bias_act (or lenet_relu without a bias) while it is in cache and
// on the thread that computed it, instead of one pass over the whole batch on the calling
// thread after the split. The same sums in the same order and the same add and relu: bit for bit
// lenet_conv_forward then lenet_bias_act / lenet_relu. tile: the bias repeated (lenet_fill_tile),
// t floats; bias 0: none.
EXPORT(lenet_conv_forward_bias_act)
void lenet_conv_forward_bias_act(const f32 *xp, const f32 *w, f32 *out, i32 n, i32 hp, i32 wp, i32 ci, i32 oh, i32 ow,
                                 i32 co, i32 co4, i32 kh, i32 kw, i32 sh, i32 sw, const f32 *tile, const f32 *bias,
                                 i32 t, i32 relu) {
  const i32 image = hp * wp * ci, outImage = oh * ow * co;
  for (i32 b = 0; b < n; b++) {
    f32 *o = out + b * outImage;
    lenet_conv_forward(xp + b * image, w, o, 1, hp, wp, ci, oh, ow, co, co4, kh, kw, sh, sw);
    if (bias) lenet_bias_act(o, tile, bias, o, outImage, co, t, relu);
    else if (relu) lenet_relu(o, o, outImage);
  }
}
