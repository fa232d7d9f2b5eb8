/** Conv2D → Conv with the kernel re-ordered to `[out, in, kh, kw]` and TensorFlow's padding made explicit. */
import { OnnxError } from '../errors.js';
import { activationOf, activationOps } from './activation.js';
import { paddingMode, spatialPadding } from './padding.js';
import {
  describe,
  type LayerConverter,
  namedWeights,
  need,
  pair,
  requireChannelsLast,
  requireImage,
} from './shared.js';

export const convertConv2d: LayerConverter = ({ layer, config, shape, pendingPerm }) => {
  requireChannelsLast(config, layer);
  const img = requireImage(shape, layer);
  const [kh, kw] = pair(config.kernelSize, layer, 'kernelSize');
  const strides = pair(config.strides ?? 1, layer, 'strides');
  const dilations = pair(config.dilationRate ?? 1, layer, 'dilationRate');
  const mode = paddingMode(config.padding, layer);
  const weights = namedWeights(layer);
  const kernel = need(weights, 'kernel', layer);
  const [, , cin, cout] = kernel.shape;
  if (cin !== img.c) {
    throw new OnnxError(
      'UNSUPPORTED_LAYER',
      `${describe(layer)}: kernel expects ${cin} input channels, gets ${img.c}`,
    );
  }
  // [kh, kw, in, out] → [out, in, kh, kw]
  const weight = new Float32Array(kernel.data.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < cin; i++)
        for (let o = 0; o < cout; o++)
          weight[((o * cin + i) * kh + y) * kw + x] = kernel.data[((y * kw + x) * cin + i) * cout + o];
  const py = spatialPadding(img.h, kh, strides[0], dilations[0], mode);
  const px = spatialPadding(img.w, kw, strides[1], dilations[1], mode);
  return {
    ops: [
      {
        kind: 'conv',
        layer: layer.name,
        weight,
        dims: [cout, cin, kh, kw],
        bias: config.useBias === false ? null : need(weights, 'bias', layer).data,
        strides,
        dilations,
        pads: [py.before, px.before, py.after, px.after],
      },
      ...activationOps(activationOf(config.activation ?? 'linear', layer), layer, pendingPerm),
    ],
    shape: { kind: 'image', c: cout, h: py.out, w: px.out },
    pendingPerm,
  };
};
