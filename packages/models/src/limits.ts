import { SpecError, type SpecErrorLocation } from './errors.js';
import { checkLimit } from './options.js';
import { inferShapes, type LayerShape, type ShapeInference } from './shapes.js';
import type { ModelSpec } from './spec.js';
import { validateSpec } from './validate.js';

/**
 * Limits on the size of a network, computed from its spec by shape inference before any tensor is
 * allocated: a spec of a few hundred bytes can declare a dense layer of a million units (3 GB of
 * weights) or a 30000×30000 input, and building it would run for minutes and die with `memory
 * access out of bounds` or `Invalid typed array length`, naming no layer.
 */
export interface SpecLimits {
  /** Largest parameter count (Keras-style, BatchNorm moving statistics included). Default 50,000,000. */
  maxParams?: number;
  /**
   * Largest number of activation values of one sample: the input plus every layer's output.
   * Default 33,554,432 (2^25, 128 MiB of float32 per image).
   */
  maxActivations?: number;
  /** Largest number of layers. Default 1000. */
  maxLayers?: number;
}

/** The default {@link SpecLimits}: 50M parameters (the presets have at most 8M at their own sizes). */
export const DEFAULT_SPEC_LIMITS: Readonly<Required<SpecLimits>> = Object.freeze({
  maxParams: 50_000_000,
  maxActivations: 2 ** 25,
  maxLayers: 1000,
});

const fmt = (n: number): string => n.toLocaleString('en-US');

/** {@link SpecLimits} with the defaults filled in; `Infinity` turns a limit off. */
function resolveLimits(limits: SpecLimits): Required<SpecLimits> {
  const out = { ...DEFAULT_SPEC_LIMITS };
  for (const key of Object.keys(DEFAULT_SPEC_LIMITS) as (keyof SpecLimits)[]) {
    const v = limits[key];
    if (v !== undefined) out[key] = v === Number.POSITIVE_INFINITY ? v : checkLimit(key, v);
  }
  return out;
}

function elements(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** What a layer's parameters are made of, for the message. */
function paramDetail(layer: LayerShape, spec: ModelSpec): string {
  const l = spec.layers[layer.index];
  if (l.type === 'dense') return `${fmt(layer.inputShape[0])} inputs × ${fmt(l.units)} units`;
  if (l.type === 'conv2d') {
    const [kh, kw] = typeof l.kernel === 'number' ? [l.kernel, l.kernel] : l.kernel;
    return `${kh}×${kw} kernel × ${fmt(layer.inputShape[2])} channels × ${fmt(l.filters)} filters`;
  }
  return `over ${fmt(layer.inputShape[layer.inputShape.length - 1])} channels`;
}

function field(spec: ModelSpec, index: number): string | undefined {
  const type = spec.layers[index].type;
  return type === 'dense' ? 'units' : type === 'conv2d' ? 'filters' : undefined;
}

/**
 * Validates `spec`, infers its shapes and checks them against `limits` (defaults
 * {@link DEFAULT_SPEC_LIMITS}); returns the shape inference. A spec over a limit throws a
 * {@link SpecError} naming the layer that takes the most, the limit, and the option that raises it.
 * `where.file` names the file the spec came from.
 */
export function checkSpecLimits(
  spec: ModelSpec | unknown,
  limits: SpecLimits = {},
  where: Pick<SpecErrorLocation, 'file'> = {},
): ShapeInference {
  const max = resolveLimits(limits);
  const s = validateSpec(spec, where.file);
  const at = { ...where, specName: s.name };
  if (s.layers.length > max.maxLayers) {
    throw new SpecError(
      `${fmt(s.layers.length)} layers, more than the limit of ${fmt(max.maxLayers)} (raise it with the maxLayers option)`,
      { ...at, field: 'layers' },
    );
  }
  let inference: ShapeInference;
  try {
    inference = inferShapes(s);
  } catch (e) {
    if (e instanceof SpecError && where.file !== undefined && e.file === undefined) {
      throw new SpecError(e.reason, {
        ...at,
        layerIndex: e.layerIndex,
        layerType: e.layerType,
        field: e.field,
      });
    }
    throw e;
  }
  if (inference.totalParams > max.maxParams) {
    const biggest = inference.layers.reduce((a, b) => (b.params > a.params ? b : a));
    throw new SpecError(
      `${fmt(biggest.params)} parameters (${paramDetail(biggest, s)}); the model has ${fmt(inference.totalParams)} in all, more than the limit of ${fmt(max.maxParams)} (raise it with the maxParams option)`,
      { ...at, layerIndex: biggest.index, layerType: biggest.type, field: field(s, biggest.index) },
    );
  }
  let activations = elements(inference.input);
  let biggest: LayerShape | undefined;
  for (const layer of inference.layers) {
    activations += elements(layer.outputShape);
    if (biggest === undefined || elements(layer.outputShape) > elements(biggest.outputShape)) biggest = layer;
  }
  if (activations > max.maxActivations) {
    const input = elements(inference.input);
    const [place, size, shape]: [SpecErrorLocation, number, number[]] =
      biggest === undefined || input >= elements(biggest.outputShape)
        ? [{ field: 'input' }, input, inference.input]
        : [
            { layerIndex: biggest.index, layerType: biggest.type },
            elements(biggest.outputShape),
            biggest.outputShape,
          ];
    throw new SpecError(
      `${place.field === 'input' ? 'the input holds' : 'outputs'} ${shape.join('×')} = ${fmt(size)} values per image; the model's activations are ${fmt(activations)} values per image, more than the limit of ${fmt(max.maxActivations)} (raise it with the maxActivations option)`,
      { ...at, ...place },
    );
  }
  return inference;
}
