import { describeValue, readRegularFileSync, writeFileAtomicSync } from '@lenet/common';
import { SpecError, type SpecErrorLocation } from './errors.js';
import { jsonTextDepth, MAX_JSON_DEPTH, valueDepth } from './json-depth.js';
import { layerNames } from './names.js';
import { checkLimit } from './options.js';
import {
  type ActivationName,
  activationNames,
  type InitializerName,
  initializerNames,
  type LayerSpec,
  type LayerType,
  layerTypes,
  type ModelSpec,
  type Padding,
  type Size2,
} from './spec.js';

type Obj = Record<string, unknown>;

/** Tensor names TensorFlow.js accepts (its `isValidTensorName`). */
const NAME_PATTERN = /^[A-Za-z0-9][-A-Za-z0-9._/]*$/;

/** The fields each layer type may carry, besides `type`; `true` marks required ones. */
const LAYER_FIELDS: Record<LayerType, Record<string, boolean>> = {
  conv2d: {
    filters: true,
    kernel: true,
    stride: false,
    padding: false,
    useBias: false,
    activation: false,
    kernelInitializer: false,
    name: false,
  },
  batchNorm: { momentum: false, epsilon: false, name: false },
  dropout: { rate: true, name: false },
  activation: { activation: true, name: false },
  maxPool: { size: true, stride: false, padding: false, name: false },
  avgPool: { size: true, stride: false, padding: false, name: false },
  globalAvgPool: { name: false },
  flatten: { name: false },
  dense: { units: true, useBias: false, activation: false, kernelInitializer: false, name: false },
};

const MODEL_FIELDS = new Set(['name', 'description', 'input', 'classes', 'layers', 'adaptations']);

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A value for a message, cut short when long. */
const describe = describeValue;

/** The refusal of a spec nested deeper than {@link MAX_JSON_DEPTH}. */
function tooDeep(file: string | undefined): SpecError {
  return new SpecError(
    `nested more than ${MAX_JSON_DEPTH} levels deep (a spec nests 4); refused before it is read further`,
    file === undefined ? {} : { file },
  );
}

/** Largest spec file {@link loadSpec} reads: 4 MiB (a spec of 1000 layers is about 100 KB). */
export const SPEC_MAX_BYTES = 4 * 1024 * 1024;

class Checker {
  constructor(
    private readonly loc: SpecErrorLocation & { specName?: string },
    private readonly obj: Obj,
  ) {}

  fail(field: string | undefined, reason: string): never {
    throw new SpecError(reason, { ...this.loc, field });
  }

  has(field: string): boolean {
    return this.obj[field] !== undefined;
  }

  positiveInt(field: string): number {
    const v = this.obj[field];
    if (v === undefined) this.fail(field, 'missing (a positive integer is required)');
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
      this.fail(field, `must be a positive integer, got ${describe(v)}`);
    }
    return v;
  }

  size2(field: string): Size2 {
    const v = this.obj[field];
    if (v === undefined) this.fail(field, 'missing (a positive integer or [height, width] is required)');
    const ok = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x > 0;
    if (ok(v)) return v;
    if (Array.isArray(v) && v.length === 2 && ok(v[0]) && ok(v[1])) return [v[0], v[1]];
    this.fail(
      field,
      `must be a positive integer or [height, width] of positive integers, got ${describe(v)}`,
    );
  }

  number(field: string, min: number, max: number, inclusiveMin: boolean, inclusiveMax: boolean): number {
    const v = this.obj[field];
    const lo = inclusiveMin ? '[' : '(';
    const hi = inclusiveMax ? ']' : ')';
    const range = `${lo}${min}, ${max}${hi}`;
    if (v === undefined) this.fail(field, `missing (a number in ${range} is required)`);
    if (
      typeof v !== 'number' ||
      !Number.isFinite(v) ||
      (inclusiveMin ? v < min : v <= min) ||
      (inclusiveMax ? v > max : v >= max)
    ) {
      this.fail(field, `must be a number in ${range}, got ${describe(v)}`);
    }
    return v;
  }

  boolean(field: string): boolean {
    const v = this.obj[field];
    if (typeof v !== 'boolean') this.fail(field, `must be true or false, got ${describe(v)}`);
    return v;
  }

  oneOf<T extends string>(field: string, options: readonly T[]): T {
    const v = this.obj[field];
    if (v === undefined) this.fail(field, `missing (one of ${options.join(', ')})`);
    if (typeof v !== 'string' || !(options as readonly string[]).includes(v)) {
      this.fail(field, `must be one of ${options.join(', ')}, got ${describe(v)}`);
    }
    return v as T;
  }

  convPadding(field: string): Padding {
    const v = this.obj[field];
    if (v === 'same' || v === 'valid') return v;
    if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v;
    this.fail(field, `must be 'same', 'valid' or a non-negative integer, got ${describe(v)}`);
  }

  name(): string {
    const v = this.obj.name;
    if (typeof v !== 'string' || !NAME_PATTERN.test(v)) {
      this.fail(
        'name',
        `must be a non-empty string of letters, digits, '-', '_', '.', '/' starting with a letter or digit, got ${describe(v)}`,
      );
    }
    return v;
  }
}

/** The optional fields conv2d and dense layers share, checked in this order. */
function weightFields(c: Checker): {
  useBias?: boolean;
  activation?: ActivationName;
  kernelInitializer?: InitializerName;
} {
  return {
    ...(c.has('useBias') ? { useBias: c.boolean('useBias') } : {}),
    ...(c.has('activation') ? { activation: c.oneOf<ActivationName>('activation', activationNames) } : {}),
    ...(c.has('kernelInitializer')
      ? { kernelInitializer: c.oneOf<InitializerName>('kernelInitializer', initializerNames) }
      : {}),
  };
}

function validateLayer(raw: unknown, index: number, specName: string): LayerSpec {
  if (!isObject(raw)) {
    throw new SpecError(`must be an object, got ${describe(raw)}`, { specName, layerIndex: index });
  }
  const type = raw.type;
  if (type === undefined) {
    throw new SpecError(`missing (one of ${layerTypes.join(', ')})`, {
      specName,
      layerIndex: index,
      field: 'type',
    });
  }
  if (typeof type !== 'string' || !(layerTypes as readonly string[]).includes(type)) {
    throw new SpecError(`unknown layer type ${describe(type)} (known: ${layerTypes.join(', ')})`, {
      specName,
      layerIndex: index,
      layerType: typeof type === 'string' ? type : describe(type),
      field: 'type',
    });
  }
  const t = type as LayerType;
  const c: Checker = new Checker({ specName, layerIndex: index, layerType: t }, raw);
  const allowed = LAYER_FIELDS[t];
  for (const key of Object.keys(raw)) {
    if (key !== 'type' && !(key in allowed)) {
      c.fail(key, `unknown field for a ${t} layer (allowed: ${Object.keys(allowed).join(', ')})`);
    }
  }
  const name = c.has('name') ? { name: c.name() } : {};
  switch (t) {
    case 'conv2d':
      return {
        type: t,
        filters: c.positiveInt('filters'),
        kernel: c.size2('kernel'),
        ...(c.has('stride') ? { stride: c.size2('stride') } : {}),
        ...(c.has('padding') ? { padding: c.convPadding('padding') } : {}),
        ...weightFields(c),
        ...name,
      };
    case 'batchNorm':
      return {
        type: t,
        ...(c.has('momentum') ? { momentum: c.number('momentum', 0, 1, true, true) } : {}),
        ...(c.has('epsilon') ? { epsilon: c.number('epsilon', 0, 1, false, true) } : {}),
        ...name,
      };
    case 'dropout':
      return { type: t, rate: c.number('rate', 0, 1, true, false), ...name };
    case 'activation':
      return { type: t, activation: c.oneOf<ActivationName>('activation', activationNames), ...name };
    case 'maxPool':
    case 'avgPool':
      return {
        type: t,
        size: c.size2('size'),
        ...(c.has('stride') ? { stride: c.size2('stride') } : {}),
        ...(c.has('padding') ? { padding: c.oneOf('padding', ['same', 'valid'] as const) } : {}),
        ...name,
      };
    case 'globalAvgPool':
    case 'flatten':
      return { type: t, ...name };
    case 'dense':
      return {
        type: t,
        units: c.positiveInt('units'),
        ...weightFields(c),
        ...name,
      };
  }
}

/**
 * Checks that `value` is a well-formed {@link ModelSpec} (every field present and of the right
 * type, known layer types and activations, unique layer names) and returns a clean copy. Does not
 * check that the layers fit the input shape: that is {@link inferShapes}'s job.
 * @throws SpecError naming the layer (index and type) and the field.
 */
export function validateSpec(value: unknown, file?: string): ModelSpec {
  const at = file === undefined ? {} : { file };
  if (valueDepth(value) > MAX_JSON_DEPTH) throw tooDeep(file);
  if (!isObject(value)) throw new SpecError(`a spec must be a JSON object, got ${describe(value)}`, at);
  const specName = typeof value.name === 'string' ? value.name : undefined;
  const c: Checker = new Checker({ ...at, specName }, value);
  for (const key of Object.keys(value)) {
    if (!MODEL_FIELDS.has(key)) c.fail(key, `unknown field (allowed: ${[...MODEL_FIELDS].join(', ')})`);
  }
  if (typeof value.name !== 'string' || value.name.length === 0) {
    c.fail('name', `missing or empty (a string is required), got ${describe(value.name)}`);
  }
  const name = value.name;
  const input = value.input;
  if (
    !Array.isArray(input) ||
    input.length !== 3 ||
    !input.every((x) => typeof x === 'number' && Number.isInteger(x) && x > 0)
  ) {
    c.fail('input', `must be [height, width, channels] of positive integers, got ${describe(input)}`);
  }
  const classes = c.positiveInt('classes');
  if (value.description !== undefined && typeof value.description !== 'string') {
    c.fail('description', `must be a string, got ${describe(value.description)}`);
  }
  const adaptations = value.adaptations;
  if (
    adaptations !== undefined &&
    !(Array.isArray(adaptations) && adaptations.every((a) => typeof a === 'string'))
  ) {
    c.fail('adaptations', `must be an array of strings, got ${describe(adaptations)}`);
  }
  const layers = value.layers;
  if (!Array.isArray(layers) || layers.length === 0) {
    c.fail('layers', `must be a non-empty array of layers, got ${describe(layers)}`);
  }
  const spec: ModelSpec = {
    name,
    ...(value.description !== undefined ? { description: value.description as string } : {}),
    input: [input[0], input[1], input[2]],
    classes,
    layers: layers.map((l, i) => {
      try {
        return validateLayer(l, i, name);
      } catch (e) {
        if (e instanceof SpecError && file !== undefined) {
          throw new SpecError(e.reason, { file, specName: name, ...locationOf(e) });
        }
        throw e;
      }
    }),
    ...(adaptations !== undefined ? { adaptations: [...(adaptations as string[])] } : {}),
  };
  const names = layerNames(spec);
  const seen = new Map<string, number>();
  names.forEach((n, i) => {
    const first = seen.get(n);
    if (first !== undefined) {
      throw new SpecError(`duplicate layer name "${n}" (also used by layers[${first}])`, {
        ...at,
        specName: name,
        layerIndex: i,
        layerType: spec.layers[i].type,
        field: 'name',
      });
    }
    seen.set(n, i);
  });
  return spec;
}

function locationOf(e: SpecError): SpecErrorLocation {
  return { layerIndex: e.layerIndex, layerType: e.layerType, field: e.field };
}

/**
 * Parses a spec from JSON text (or an already-parsed value) and validates it.
 * @throws SpecError for malformed JSON or a malformed spec.
 */
export function parseSpec(json: string | unknown, file?: string): ModelSpec {
  let value: unknown = json;
  if (typeof json === 'string') {
    if (jsonTextDepth(json) > MAX_JSON_DEPTH) throw tooDeep(file);
    try {
      value = JSON.parse(json);
    } catch (e) {
      throw new SpecError(`not valid JSON: ${(e as Error).message}`, file === undefined ? {} : { file }, {
        cause: e,
      });
    }
  }
  return validateSpec(value, file);
}

/** Options of {@link loadSpec}. */
export interface LoadSpecOptions {
  /** Largest file read, checked before reading. Default {@link SPEC_MAX_BYTES}. */
  maxBytes?: number;
}

/**
 * Reads and validates a spec from a JSON file: a regular file (a FIFO or device is refused at
 * once) of at most `maxBytes`, nested at most 64 levels.
 * @throws SpecError naming the file (and the layer, for a malformed spec).
 */
export function loadSpec(path: string, options: LoadSpecOptions = {}): ModelSpec {
  const maxBytes = options.maxBytes === undefined ? SPEC_MAX_BYTES : checkLimit('maxBytes', options.maxBytes);
  const text = readRegularFileSync(
    path,
    (reason, cause) =>
      new SpecError(
        `cannot read spec file: ${reason}`,
        { file: path },
        cause === undefined ? undefined : { cause },
      ),
    { maxBytes },
  ).toString('utf8');
  return parseSpec(text, path);
}

/** Serialises a spec as pretty-printed JSON (2-space indent, trailing newline). */
export function specToJson(spec: ModelSpec): string {
  return `${JSON.stringify(spec, null, 2)}\n`;
}

/** Validates a spec and writes it as JSON to `path` atomically (temporary file, fsync, then rename). */
export function saveSpec(path: string, spec: ModelSpec): void {
  writeFileAtomicSync(path, specToJson(validateSpec(spec)));
}
