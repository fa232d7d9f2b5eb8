import { SpecError } from '../errors.js';
import { checkSpecLimits, type SpecLimits } from '../limits.js';
import { propagateShapes } from '../shapes.js';
import type { LayerSpec, ModelSpec } from '../spec.js';
import { validateSpec } from '../validate.js';
import { ModelFileError } from './errors.js';

/**
 * The size of a saved model, read from its topology before TensorFlow.js builds it: building
 * allocates every weight the topology declares (a 1.5 MB model.json can declare gigabytes), so
 * the topology is turned into a spec of the same shapes and checked with `checkSpecLimits`.
 * Only the layer classes lenet builds (and shape-preserving ones such as activations) are read;
 * sizes are what matter here, so activations become `linear` and dropout rates 0.
 */

type Json = Record<string, unknown>;

/** Which saved layer a spec layer stands for. */
interface Origin {
  index: number;
  name: string;
  className: string;
}

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

const SHAPE_ONLY: Record<string, LayerSpec> = {
  Activation: { type: 'activation', activation: 'linear' },
  ReLU: { type: 'activation', activation: 'linear' },
  LeakyReLU: { type: 'activation', activation: 'linear' },
  ELU: { type: 'activation', activation: 'linear' },
  Softmax: { type: 'activation', activation: 'linear' },
  ThresholdedReLU: { type: 'activation', activation: 'linear' },
  Dropout: { type: 'dropout', rate: 0 },
  SpatialDropout2D: { type: 'dropout', rate: 0 },
  GaussianNoise: { type: 'dropout', rate: 0 },
  GaussianDropout: { type: 'dropout', rate: 0 },
  AlphaDropout: { type: 'dropout', rate: 0 },
  Flatten: { type: 'flatten' },
  GlobalAveragePooling2D: { type: 'globalAvgPool' },
  GlobalAvgPool2D: { type: 'globalAvgPool' },
  GlobalMaxPooling2D: { type: 'globalAvgPool' },
  GlobalMaxPool2D: { type: 'globalAvgPool' },
};

const POOLS: Record<string, 'maxPool' | 'avgPool'> = {
  MaxPooling2D: 'maxPool',
  MaxPool2D: 'maxPool',
  AveragePooling2D: 'avgPool',
  AvgPool2D: 'avgPool',
};

const READ = [
  'InputLayer',
  'Conv2D',
  'Dense',
  'BatchNormalization',
  'ZeroPadding2D',
  ...Object.keys(POOLS),
  ...Object.keys(SHAPE_ONLY),
];

/** `[a, b]` from a number or a pair, as the JSON holds them (validated later by the spec checks). */
function pair(v: unknown): [number, number] | unknown {
  if (typeof v === 'number') return [v, v];
  return Array.isArray(v) && v.length === 2 ? [v[0], v[1]] : v;
}

/** The layers of a Sequential topology, or of a functional one that is a single chain. */
function layerList(topology: Json, fail: (reason: string) => never): Json[] {
  const root = isObject(topology.model_config) ? topology.model_config : topology;
  const className = root.class_name;
  const config = root.config;
  const layers = Array.isArray(config) ? config : isObject(config) ? config.layers : undefined;
  if (!Array.isArray(layers) || layers.length === 0) fail('modelTopology has no list of layers');
  if (!layers.every(isObject)) fail('modelTopology has a layer that is not an object');
  if (className === 'Sequential') return layers;
  if (className !== 'Model' && className !== 'Functional') {
    fail(`modelTopology is a ${JSON.stringify(className)}; expected a Sequential or functional model`);
  }
  // A functional model is read when each layer takes exactly the one before it.
  layers.forEach((layer, i) => {
    const nodes = layer.inbound_nodes;
    const from = Array.isArray(nodes) && nodes.length === 1 && Array.isArray(nodes[0]) ? nodes[0] : [];
    const ok =
      i === 0
        ? !Array.isArray(nodes) || nodes.length === 0
        : from.length === 1 &&
          Array.isArray(from[0]) &&
          from[0][0] === (layers[i - 1].config as Json | undefined)?.name;
    if (!ok) fail(`modelTopology is not a single chain of layers (layer ${i} has other inputs)`);
  });
  return layers;
}

/** `[h, w, c]` from a `batch_input_shape` of `[null, h, w, c]`. */
function inputShape(config: Json): unknown[] | undefined {
  const shape = config.batch_input_shape ?? config.batch_shape ?? config.batchInputShape;
  return Array.isArray(shape) ? shape.slice(1) : undefined;
}

/** A symmetric `ZeroPadding2D` padding in pixels, or undefined. */
function symmetricPad(padding: unknown): number | undefined {
  const flat = typeof padding === 'number' ? [padding] : Array.isArray(padding) ? padding.flat() : [];
  return flat.length > 0 && flat.every((p) => p === flat[0]) && typeof flat[0] === 'number'
    ? flat[0]
    : undefined;
}

/**
 * The spec with the shapes of a saved model's topology, and the saved layer behind each spec
 * layer. Throws a {@link ModelFileError} naming `file` for a topology it cannot read.
 */
function topologySpec(topology: Json, file: string): { spec: ModelSpec; origins: Origin[] } {
  const fail = (reason: string): never => {
    throw new ModelFileError(file, reason);
  };
  const layers = layerList(topology, fail);
  let input: unknown[] | undefined;
  const specLayers: LayerSpec[] = [];
  const origins: Origin[] = [];
  let pad: { pixels: number; origin: Origin } | undefined;
  layers.forEach((layer, index) => {
    const className = String(layer.class_name);
    const config = isObject(layer.config) ? layer.config : {};
    const origin = { index, name: String(config.name ?? `#${index}`), className };
    const where = `layer ${index} (${origin.name}, ${className})`;
    if (!READ.includes(className)) {
      fail(
        `${where}: lenet reads models made of the layer classes it builds (${READ.join(', ')}); this one cannot be sized before loading`,
      );
    }
    if (config.data_format !== undefined && config.data_format !== 'channels_last') {
      fail(`${where}: data_format ${JSON.stringify(config.data_format)}; only channels_last is read`);
    }
    if (input === undefined) input = inputShape(config);
    if (pad && className !== 'Conv2D') fail(`${where}: a ZeroPadding2D must be followed by a Conv2D`);
    const push = (spec: LayerSpec) => {
      specLayers.push(spec);
      origins.push(origin);
    };
    switch (className) {
      case 'InputLayer':
        return;
      case 'ZeroPadding2D': {
        const pixels = symmetricPad(config.padding);
        if (pixels === undefined) fail(`${where}: only the same padding on every side is read`);
        pad = { pixels: pixels as number, origin };
        return;
      }
      case 'Conv2D': {
        const dilation = pair(config.dilation_rate ?? 1) as unknown[];
        if (!Array.isArray(dilation) || dilation.some((d) => d !== 1))
          fail(`${where}: dilated convolutions are not read`);
        if (pad && config.padding !== 'valid')
          fail(`${where}: a ZeroPadding2D before a 'same' convolution is not read`);
        push({
          type: 'conv2d',
          filters: config.filters,
          kernel: pair(config.kernel_size),
          stride: pair(config.strides ?? 1),
          padding: pad ? pad.pixels : config.padding,
          useBias: config.use_bias ?? true,
        } as LayerSpec);
        pad = undefined;
        return;
      }
      case 'Dense':
        push({ type: 'dense', units: config.units, useBias: config.use_bias ?? true } as LayerSpec);
        return;
      case 'BatchNormalization': {
        const axis =
          Array.isArray(config.axis) && config.axis.length === 1 ? config.axis[0] : (config.axis ?? -1);
        if (axis !== -1 && axis !== 3)
          fail(`${where}: only batch normalisation over the channels (axis -1) is read`);
        push({ type: 'batchNorm' });
        return;
      }
      default: {
        const pool = POOLS[className];
        if (pool) {
          push({
            type: pool,
            size: pair(config.pool_size),
            stride: pair(config.strides ?? config.pool_size),
            padding: config.padding ?? 'valid',
          } as LayerSpec);
        } else {
          push({ ...SHAPE_ONLY[className] });
        }
      }
    }
  });
  if (pad)
    fail(
      `layer ${pad.origin.index} (${pad.origin.name}, ZeroPadding2D): a ZeroPadding2D must be followed by a Conv2D`,
    );
  if (input === undefined) fail('modelTopology declares no input shape (batch_input_shape)');
  const name =
    isObject(topology.config) && typeof topology.config.name === 'string' ? topology.config.name : 'model';
  const draft = { name: 'saved-model', input, classes: 1, layers: specLayers };
  const valid = locate(() => validateSpec(draft), origins, file);
  const { output } = locate(() => propagateShapes(valid), origins, file);
  if (output.length !== 1) {
    fail(
      `the model's output is [${output.join(', ')}] per image; lenet reads classifiers whose output is [classes]`,
    );
  }
  return { spec: { ...valid, name, classes: output[0] }, origins };
}

/** Runs `f`, turning a SpecError about a spec layer into a ModelFileError about the saved layer. */
function locate<T>(f: () => T, origins: Origin[], file: string): T {
  try {
    return f();
  } catch (e) {
    if (!(e instanceof SpecError)) throw e;
    const o = e.layerIndex === undefined ? undefined : origins[e.layerIndex];
    const where = o
      ? `layer ${o.index} (${o.name}, ${o.className})`
      : `modelTopology ${e.field ?? ''}`.trim();
    throw new ModelFileError(file, `${where}: ${e.reason}`, { cause: e });
  }
}

/**
 * Checks that the model a topology declares is within `limits` (parameters, activations, layers)
 * before TensorFlow.js allocates it; throws a {@link ModelFileError} naming `file` and the layer.
 */
export function checkTopologyLimits(topology: Json, file: string, limits: SpecLimits): void {
  const { spec, origins } = topologySpec(topology, file);
  locate(() => checkSpecLimits(spec, limits), origins, file);
}
