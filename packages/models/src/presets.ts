import { SpecError } from './errors.js';
import { inferShapes } from './shapes.js';
import type { ActivationName, Conv2dLayer, DenseLayer, LayerSpec, ModelSpec, Padding } from './spec.js';

/** The stable names of the presets; other packages and the CLI refer to models by these. */
export type PresetName =
  | 'lenet5'
  | 'lenet5-classic'
  | 'torch-bn'
  | 'torch-nobn'
  | 'torch-2conv3fc'
  | 'torch-2conv2fc'
  | 'keras-baseline'
  | 'keras-bn'
  | 'keras-shallow'
  | 'keras-deep'
  | 'vgg-cifar10'
  | 'folder-lenet50'
  | 'mlp2';

/** Options a preset may take. Each preset lists the ones it accepts in {@link PresetInfo.options}. */
export interface PresetOptions {
  /** Input shape `[h, w, c]`; defaults to the preset's published input. */
  input?: [number, number, number];
  /** Number of classes (units of the final softmax dense layer); defaults to the preset's. */
  classes?: number;
  /** LeNet-5 only: the activation of its conv and hidden dense layers. */
  activation?: 'relu' | 'tanh';
  /** LeNet-5 only: max or average pooling. */
  pooling?: 'max' | 'avg';
  /** `mlp2` only: hidden units (default 100). */
  hidden?: number;
}

/** A spec made from a preset, with what was changed to fit the requested input and classes. */
export interface PresetResult {
  spec: ModelSpec;
  /** Human-readable changes from the published network; empty when none. Also in `spec.adaptations`. */
  adaptations: string[];
}

/** One entry of the preset registry. */
export interface PresetInfo {
  name: PresetName;
  /** One line: what the network is and where it comes from. */
  description: string;
  /** The reference report (or paper) it reproduces. */
  source: string;
  /** The input shape of the published network. */
  defaultInput: [number, number, number];
  /** The class count of the published network. */
  defaultClasses: number;
  /** The option keys besides `input` and `classes` this preset accepts. */
  options: readonly (keyof PresetOptions)[];
  /** The same as `getPreset(name, options).spec`. */
  create(options?: PresetOptions): ModelSpec;
}

interface Built {
  layers: LayerSpec[];
  notes: string[];
}

/** A registry entry as defined here: its builder instead of `create`. */
interface Definition extends Omit<PresetInfo, 'create'> {
  build(o: Required<Pick<PresetOptions, 'input' | 'classes'>> & PresetOptions): Built;
}

// ---- small layer constructors --------------------------------------------------------------

function conv(
  filters: number,
  kernel: number,
  padding: Padding,
  activation?: ActivationName,
  extra: Partial<Conv2dLayer> = {},
): Conv2dLayer {
  return {
    type: 'conv2d',
    filters,
    kernel,
    stride: 1,
    padding,
    ...(activation ? { activation } : {}),
    ...extra,
  };
}

function dense(units: number, activation?: ActivationName): DenseLayer {
  return { type: 'dense', units, ...(activation ? { activation } : {}) };
}

const softmaxOut = (classes: number): DenseLayer => dense(classes, 'softmax');
const relu: LayerSpec = { type: 'activation', activation: 'relu' };
const maxPool2: LayerSpec = { type: 'maxPool', size: 2, stride: 2 };
const flatten: LayerSpec = { type: 'flatten' };
const dropout = (rate: number): LayerSpec => ({ type: 'dropout', rate });
/** PyTorch BatchNorm defaults (momentum 0.1 = Keras 0.9 for the old average, eps 1e-5). */
const torchBn: LayerSpec = { type: 'batchNorm', momentum: 0.9, epsilon: 1e-5 };
/** Keras BatchNormalization defaults. */
const kerasBn: LayerSpec = { type: 'batchNorm', momentum: 0.99, epsilon: 1e-3 };

/** Report 002's `nn.Dropout(p=0.75)` after each conv's BatchNorm. */
const TORCH_DROPOUT = 0.75;

// ---- the presets ----------------------------------------------------------------------------

function torchNet(convs: 2 | 3, fcs: 2 | 3, bn: boolean, classes: number): LayerSpec[] {
  const block = (filters: number, padding: number): LayerSpec[] => [
    conv(filters, 3, padding),
    ...(bn ? [torchBn] : []),
    dropout(TORCH_DROPOUT),
    relu,
  ];
  const layers: LayerSpec[] = [...block(6, 1), maxPool2, ...block(12, 0), maxPool2];
  if (convs === 3) layers.push(...block(24, 0));
  layers.push(flatten, dense(128), ...(bn ? [torchBn] : []), relu);
  if (fcs === 3) layers.push(dense(48), ...(bn ? [torchBn] : []), relu);
  layers.push(softmaxOut(classes));
  return layers;
}

function kerasMnist(convs: 2 | 3 | 4, bn: boolean, classes: number): LayerSpec[] {
  const filters = [32, 64, 64, 64].slice(0, convs);
  const layers: LayerSpec[] = [];
  for (const f of filters) layers.push(conv(f, 3, 'same', 'relu'), ...(bn ? [kerasBn] : []), maxPool2);
  layers.push(flatten, dense(64, 'relu'), dense(64, 'relu'), softmaxOut(classes));
  return layers;
}

function lenet5(
  o: PresetOptions & { input: [number, number, number]; classes: number },
  classic: boolean,
): Built {
  const act = o.activation ?? (classic ? 'tanh' : 'relu');
  const pooling = o.pooling ?? (classic ? 'avg' : 'max');
  const pool: LayerSpec = { type: pooling === 'max' ? 'maxPool' : 'avgPool', size: 2, stride: 2 };
  const notes: string[] = [];
  // Adapted to 28x28 with pad 2 so C1 gives 28x28; on 32x32 (LeNet-5's own size) C1 is unpadded.
  const big = o.input[0] >= 32 && o.input[1] >= 32;
  if (big) {
    notes.push(
      `C1 padding 2 -> 0 ('valid'): the input is at least 32x32, LeNet-5's own size, so C1 is unpadded as in 1998 (a 32x32 input gives 28x28 maps)`,
    );
  }
  return {
    layers: [
      conv(6, 5, big ? 0 : 2, act),
      pool,
      conv(16, 5, 0, act),
      pool,
      flatten,
      dense(120, act),
      dense(84, act),
      softmaxOut(o.classes),
    ],
    notes,
  };
}

function folderLenet50(input: [number, number, number], classes: number): Built {
  const layers = (sameFrom: number): LayerSpec[] => {
    let convIndex = 0;
    const c = (filters: number, kernel = 3, extra: Partial<Conv2dLayer> = {}): Conv2dLayer =>
      conv(filters, kernel, convIndex++ >= sameFrom ? 'same' : 'valid', 'relu', extra);
    const drop = dropout(0.4);
    return [
      c(6, 3, { kernelInitializer: 'heNormal' }),
      c(10),
      maxPool2,
      drop,
      c(10),
      c(10),
      kerasBn,
      c(16),
      maxPool2,
      kerasBn,
      c(16),
      maxPool2,
      drop,
      c(16),
      maxPool2,
      kerasBn,
      c(16),
      drop,
      c(50, 2),
      drop,
      { type: 'globalAvgPool' },
      dense(1200, 'relu'),
      dense(840, 'relu'),
      dense(640, 'relu'),
      dense(200, 'relu'),
      softmaxOut(classes),
    ];
  };
  const convCount = 9;
  // Smallest number of trailing convs switched to 'same' so the feature maps never vanish; the
  // parameter count does not depend on it (global average pooling feeds the dense layers).
  for (let k = 0; k <= convCount; k++) {
    const candidate = layers(convCount - k);
    try {
      inferShapes({ name: 'folder-lenet50', input, classes, layers: candidate });
    } catch (e) {
      if (e instanceof SpecError && k < convCount) continue;
      throw e;
    }
    const notes =
      k === 0
        ? []
        : [
            `last ${k} of 9 convs padding 'valid' -> 'same' so ${input[0]}x${input[1]} feature maps do not shrink to nothing (parameter count unchanged)`,
          ];
    return { layers: candidate, notes };
  }
  throw new Error('unreachable');
}

/**
 * The defaults and builder of a 28x28x1, 10-class preset without options whose layers depend only
 * on the class count.
 */
function mnistFixed(
  layers: (classes: number) => LayerSpec[],
): Pick<Definition, 'defaultInput' | 'defaultClasses' | 'options' | 'build'> {
  return {
    defaultInput: [28, 28, 1],
    defaultClasses: 10,
    options: [],
    build: (o) => ({ layers: layers(o.classes), notes: [] }),
  };
}

const definitions: Definition[] = [
  {
    name: 'lenet5',
    description:
      'LeNet-5 (LeCun et al. 1998) adapted to 28x28: conv 6@5x5 pad 2, pool 2, conv 16@5x5, pool 2, dense 120, 84, classes; relu + max pooling by default',
    source: 'LeCun, Bottou, Bengio, Haffner 1998, "Gradient-based learning applied to document recognition"',
    defaultInput: [28, 28, 1],
    defaultClasses: 10,
    options: ['activation', 'pooling'],
    build: (o) => lenet5(o, false),
  },
  {
    name: 'lenet5-classic',
    description: 'LeNet-5 as in 1998 (tanh + average pooling), adapted to 28x28 with pad 2 on C1',
    source: 'LeCun, Bottou, Bengio, Haffner 1998, "Gradient-based learning applied to document recognition"',
    defaultInput: [28, 28, 1],
    defaultClasses: 10,
    options: ['activation', 'pooling'],
    build: (o) => lenet5(o, true),
  },
  {
    name: 'torch-bn',
    description:
      'PyTorch 3 conv + 3 FC with BatchNorm and Dropout(0.75) for 1x28x28 (59,734 params in torchsummary)',
    source: 'reports 000 and 002',
    ...mnistFixed((classes) => torchNet(3, 3, true, classes)),
  },
  {
    name: 'torch-nobn',
    description: 'torch-bn without its BatchNorm layers (59,298 params)',
    source: 'report 002 (w/o BN)',
    ...mnistFixed((classes) => torchNet(3, 3, false, classes)),
  },
  {
    name: 'torch-2conv3fc',
    description:
      'torch-bn with the third conv block removed: flatten 12x6x6 = 432 (63,214 params in torchsummary)',
    source: 'report 002 (2CNN+3NN)',
    ...mnistFixed((classes) => torchNet(2, 3, true, classes)),
  },
  {
    name: 'torch-2conv2fc',
    description: 'torch-2conv3fc without the 48-unit layer (57,726 params in torchsummary)',
    source: 'report 002 (2CNN+2NN)',
    ...mnistFixed((classes) => torchNet(2, 2, true, classes)),
  },
  {
    name: 'keras-baseline',
    description:
      'Keras MNIST baseline: conv 32, 64, 64 (3x3 same relu) each + maxpool 2, dense 64, 64, classes (97,482)',
    source: 'report 004 (Baseline_Model)',
    ...mnistFixed((classes) => kerasMnist(3, false, classes)),
  },
  {
    name: 'keras-bn',
    description: 'keras-baseline with BatchNorm after each conv (98,122; 320 non-trainable)',
    source: 'report 004 (Model_with_BN)',
    ...mnistFixed((classes) => kerasMnist(3, true, classes)),
  },
  {
    name: 'keras-shallow',
    description: 'keras-baseline with two convs: flatten 7x7x64 = 3136 (224,394)',
    source: 'report 004 (Model_with_shallower_layer)',
    ...mnistFixed((classes) => kerasMnist(2, false, classes)),
  },
  {
    name: 'keras-deep',
    description: 'keras-baseline with four convs: the last pool gives 1x1, flatten 64 (101,642)',
    source: 'report 004 (Model_with_deeper_layer)',
    ...mnistFixed((classes) => kerasMnist(4, false, classes)),
  },
  {
    name: 'vgg-cifar10',
    description:
      'Keras VGG-style CIFAR-10 net: 3 blocks of two 3x3 same convs (32, 64, 128) with dropout and maxpool, dense 2500, 1000, classes (7,920,518)',
    source: 'report 000 (Keras CIFAR-10 model; its total line 7,800,518 contradicts its rows)',
    defaultInput: [32, 32, 3],
    defaultClasses: 10,
    options: [],
    build: (o) => ({
      layers: [
        conv(32, 3, 'same', 'relu'),
        dropout(0.2),
        conv(32, 3, 'same', 'relu'),
        maxPool2,
        conv(64, 3, 'same', 'relu'),
        dropout(0.2),
        conv(64, 3, 'same', 'relu'),
        maxPool2,
        conv(128, 3, 'same', 'relu'),
        dropout(0.2),
        conv(128, 3, 'same', 'relu'),
        maxPool2,
        flatten,
        dropout(0.5),
        dense(2500, 'relu'),
        dropout(0.5),
        dense(1000, 'relu'),
        dropout(0.5),
        softmaxOut(o.classes),
      ],
      notes: [],
    }),
  },
  {
    name: 'folder-lenet50',
    description:
      'Keras 50-class "LeNet" for 256x256x3 image folders: 9 valid relu convs with BN and dropout 0.4, global average pooling, dense 1200, 840, 640, 200, classes (1,760,902)',
    source: 'report 001',
    defaultInput: [256, 256, 3],
    defaultClasses: 50,
    options: [],
    build: (o) => folderLenet50(o.input, o.classes),
  },
  {
    name: 'mlp2',
    description: 'Two-layer fully connected net: flatten, dense hidden (100, relu), dense classes',
    source: 'report 003 (the NumPy "Two Layer Net" baseline; the report gives no hidden size, 100 is ours)',
    defaultInput: [28, 28, 1],
    defaultClasses: 10,
    options: ['hidden'],
    build: (o) => ({ layers: [flatten, dense(o.hidden ?? 100, 'relu'), softmaxOut(o.classes)], notes: [] }),
  },
];

const fmt = (n: number): string => n.toLocaleString('en-US');
const dims = (s: readonly number[]): string => s.join('x');

function checkOptions(def: Definition, options: PresetOptions): void {
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined) continue;
    if (key === 'input' || key === 'classes') continue;
    if (!(def.options as readonly string[]).includes(key)) {
      const takes = def.options.length ? def.options.join(', ') : 'none besides input and classes';
      throw new SpecError(`option "${key}" is not supported by this preset (it takes: ${takes})`, {
        specName: def.name,
        field: key,
      });
    }
  }
  const bad = (field: string, why: string): never => {
    throw new SpecError(why, { specName: def.name, field });
  };
  if (options.activation !== undefined && options.activation !== 'relu' && options.activation !== 'tanh') {
    bad('activation', `must be 'relu' or 'tanh', got ${JSON.stringify(options.activation)}`);
  }
  if (options.pooling !== undefined && options.pooling !== 'max' && options.pooling !== 'avg') {
    bad('pooling', `must be 'max' or 'avg', got ${JSON.stringify(options.pooling)}`);
  }
  if (options.hidden !== undefined && !(Number.isInteger(options.hidden) && options.hidden > 0)) {
    bad('hidden', `must be a positive integer, got ${JSON.stringify(options.hidden)}`);
  }
}

/**
 * Makes the spec of a preset, adapted to `options.input` and `options.classes` where given, and
 * checks that it fits (shape inference runs on it).
 * @throws SpecError for an unknown preset or option, or an input the network cannot take (naming
 * the layer where a size reaches 0, e.g. `keras-deep` on 8x8).
 */
export function getPreset(name: string, options: PresetOptions = {}): PresetResult {
  const def = definitions.find((d) => d.name === name);
  if (!def) {
    throw new SpecError(`unknown preset "${name}" (known: ${presetNames().join(', ')})`, { field: 'preset' });
  }
  checkOptions(def, options);
  const input: [number, number, number] = options.input ? [...options.input] : [...def.defaultInput];
  const classes = options.classes ?? def.defaultClasses;
  const built = def.build({ ...options, input, classes });
  const spec: ModelSpec = {
    name: def.name,
    description: def.description,
    input,
    classes,
    layers: built.layers,
  };
  // Deep copy so callers may edit the spec without touching shared layer objects.
  const result: ModelSpec = JSON.parse(JSON.stringify(spec));
  const inferred = inferShapes(result);

  const adaptations: string[] = [];
  const inputChanged = dims(input) !== dims(def.defaultInput);
  if (inputChanged) adaptations.push(`input ${dims(def.defaultInput)} -> ${dims(input)}`);
  if (classes !== def.defaultClasses) {
    adaptations.push(`classes ${def.defaultClasses} -> ${classes} (units of the final softmax dense layer)`);
  }
  adaptations.push(...built.notes);
  if (inputChanged || classes !== def.defaultClasses) {
    const base = def.build({ ...options, input: def.defaultInput, classes: def.defaultClasses });
    const published = inferShapes({
      name: def.name,
      input: def.defaultInput,
      classes: def.defaultClasses,
      layers: base.layers,
    });
    if (published.layers.length === inferred.layers.length) {
      inferred.layers.forEach((l, i) => {
        const p = published.layers[i];
        if (l.type === 'flatten' && p.type === 'flatten' && l.outputShape[0] !== p.outputShape[0]) {
          adaptations.push(
            `layers[${i}] flatten ${dims(p.inputShape)} = ${fmt(p.outputShape[0])} -> ${dims(l.inputShape)} = ${fmt(l.outputShape[0])}`,
          );
        }
      });
    }
    if (published.totalParams !== inferred.totalParams) {
      adaptations.push(
        `parameters ${fmt(published.totalParams)} -> ${fmt(inferred.totalParams)} (Keras count)`,
      );
    }
  }
  if (adaptations.length > 0) result.adaptations = adaptations;
  return { spec: result, adaptations };
}

/** The names of all presets, in registry order. */
export function presetNames(): PresetName[] {
  return definitions.map((d) => d.name);
}

/** The preset registry: name, one-line description, source and defaults of each preset. */
export const presets: readonly PresetInfo[] = definitions.map((d) => ({
  name: d.name,
  description: d.description,
  source: d.source,
  defaultInput: d.defaultInput,
  defaultClasses: d.defaultClasses,
  options: d.options,
  create: (options?: PresetOptions) => getPreset(d.name, options).spec,
}));
