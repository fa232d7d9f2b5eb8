/** MaxPooling2D and AveragePooling2D (padding never counted, as Keras), GlobalAveragePooling2D. */
import { paddingMode, spatialPadding } from './padding.js';
import { type LayerConverter, pair, requireChannelsLast, requireImage } from './shared.js';

export const convertPool2d: LayerConverter = ({ layer, config, shape, pendingPerm }) => {
  requireChannelsLast(config, layer);
  const img = requireImage(shape, layer);
  const kernel = pair(config.poolSize, layer, 'poolSize');
  const strides = pair(config.strides ?? kernel, layer, 'strides');
  const mode = paddingMode(config.padding ?? 'valid', layer);
  const py = spatialPadding(img.h, kernel[0], strides[0], 1, mode);
  const px = spatialPadding(img.w, kernel[1], strides[1], 1, mode);
  return {
    ops: [
      {
        kind: layer.getClassName() === 'MaxPooling2D' ? 'maxPool' : 'avgPool',
        layer: layer.name,
        kernel,
        strides,
        pads: [py.before, px.before, py.after, px.after],
      },
    ],
    shape: { kind: 'image', c: img.c, h: py.out, w: px.out },
    pendingPerm,
  };
};

export const convertGlobalAveragePool2d: LayerConverter = ({ layer, config, shape, pendingPerm }) => {
  requireChannelsLast(config, layer);
  const img = requireImage(shape, layer);
  return {
    ops: [{ kind: 'globalAvgPool', layer: layer.name }],
    shape: { kind: 'flat', features: img.c },
    pendingPerm,
  };
};
