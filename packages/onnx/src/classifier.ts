import {
  argmax,
  type Classifier,
  checkBoolean,
  checkInteger,
  checkOneOf,
  describeValue,
  type ImageBatchInput,
  nonFiniteIndex,
  normalizationProblem,
  readRegularFile,
} from '@lenet/common';
import type * as Ort from 'onnxruntime-node';
import { OnnxError } from './errors.js';
import { type InputLayout, type Normalization, readMetadata } from './metadata.js';
import { decodeModel } from './proto/codec.js';
import { DataType, type ModelProto } from './proto/types.js';
import { loadOnnxRuntime, type OnnxRuntime } from './runtime.js';

/** Graph optimisation levels of onnxruntime. */
export type GraphOptimization = 'disabled' | 'basic' | 'extended' | 'all';

/** onnxruntime's log severities, from the most to the least talkative. */
export type OnnxLogLevel = 'verbose' | 'info' | 'warning' | 'error' | 'fatal';

const LOG_SEVERITY: Record<OnnxLogLevel, 0 | 1 | 2 | 3 | 4> = {
  verbose: 0,
  info: 1,
  warning: 2,
  error: 3,
  fatal: 4,
};

/** Options of {@link OnnxClassifier.load}; the defaults are the ones measured fastest on 2 CPU cores. */
export interface ClassifierOptions {
  /** Execution providers tried one after the other; the first that starts is used. Default `['cuda', 'cpu']`. */
  executionProviders?: string[];
  /** Intra-op threads. Default 1 (fastest for LeNet-sized models on 2 cores, see docs/onnx.md). */
  threads?: number;
  /** Let idle intra-op threads spin. Default false (spinning threads steal the only other core). */
  spinning?: boolean;
  /** Default `'all'`. */
  graphOptimization?: GraphOptimization;
  /** Default `'sequential'` (a chain gains nothing from parallel execution). */
  executionMode?: 'sequential' | 'parallel';
  /** Largest batch sent to one `session.run`. Default 256. */
  batchSize?: number;
  /**
   * What onnxruntime itself writes to stderr. Default `'error'`: a session's errors, but not a
   * failed execution-provider probe (CUDA's missing libraries on a machine without them, already
   * recorded in `info.providerFailures`), which onnxruntime logs in red at error level through its
   * process-wide logger; that logger is set to `'fatal'` unless a level below `'error'` is asked
   * for. onnxruntime fixes the process-wide level at its first session, so the first `load`'s
   * `logLevel` decides it for the whole process.
   */
  logLevel?: OnnxLogLevel;
  /**
   * Largest float32 input of one `session.run`, in bytes; checked at load against the input the
   * model declares (a fixed batch of a billion images is refused there) and used to cap a batch.
   * Default {@link ONNX_MAX_INPUT_BYTES}.
   */
  maxInputBytes?: number;
}

/** Default cap on one `session.run`'s input: 512 MiB (256 RGB images of 256×256 take 192 MiB). */
export const ONNX_MAX_INPUT_BYTES = 512 * 1024 * 1024;
/** protobuf cannot hold a model over 2 GiB; a larger file is refused from its length. */
const ONNX_MAX_FILE_BYTES = 2 * 1024 * 1024 * 1024;

/** A dimension: a fixed size, or the symbolic name of a dynamic one. */
export type Dim = number | string;

/** What a loaded classifier is. */
export interface ClassifierInfo {
  /** The execution provider in use. */
  executionProvider: string;
  /** Providers tried before it and why each failed. */
  providerFailures: { provider: string; reason: string }[];
  inputName: string;
  /** Input shape as the model declares it (dynamic dimensions by name). */
  inputShape: [Dim, Dim, Dim, Dim];
  /** Layout of the input: from the metadata, or guessed from where the small channel axis is. */
  inputLayout: InputLayout;
  /** Fixed input batch size, or null when the batch dimension is dynamic. */
  fixedBatch: number | null;
  outputName: string;
  outputNames: string[];
  classes: number;
  classNames: string[];
  /** Whether the output is probabilities (ends in softmax), logits, or not known (other producers). */
  output: 'probabilities' | 'logits' | 'unknown';
  normalization: Normalization | null;
  preset: string | null;
  producer: string;
  opset: number;
  irVersion: number;
  metadata: Record<string, string>;
  session: {
    threads: number;
    spinning: boolean;
    graphOptimization: GraphOptimization;
    executionMode: 'sequential' | 'parallel';
  };
}

/** Result of {@link OnnxClassifier.predict}. */
export interface Prediction {
  /** `count × classes` probabilities, row-major. */
  probabilities: Float32Array;
  /** Most probable class per sample. */
  labels: Int32Array;
  count: number;
  classes: number;
}

/** Options of {@link OnnxClassifier.predict}. */
export interface PredictOptions {
  /** Layout of `x`; when it differs from the model's the input is transposed. Default: the model's. */
  layout?: InputLayout;
  /** Largest batch per run (overrides the load option). */
  batchSize?: number;
}

function dimsOf(model: ModelProto, name: string): { dims: Dim[]; elemType: number } | undefined {
  const v =
    model.graph?.input?.find((i) => i.name === name) ?? model.graph?.output?.find((o) => o.name === name);
  const t = v?.type?.tensor_type;
  if (!t) return undefined;
  return {
    elemType: t.elem_type ?? 0,
    dims: (t.shape?.dim ?? []).map((d, i) => d.dim_value ?? d.dim_param ?? `d${i}`),
  };
}

const isSmall = (d: Dim) => typeof d === 'number' && d >= 1 && d <= 4;

function guessLayout(dims: Dim[], declared: InputLayout | null): InputLayout {
  if (declared) return declared;
  if (isSmall(dims[3]) && !isSmall(dims[1])) return 'NHWC';
  return 'NCHW';
}

function softmaxRows(x: Float32Array, classes: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let r = 0; r < x.length; r += classes) {
    let max = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < classes; j++) max = Math.max(max, x[r + j]);
    let sum = 0;
    for (let j = 0; j < classes; j++) sum += out[r + j] = Math.exp(x[r + j] - max);
    for (let j = 0; j < classes; j++) out[r + j] /= sum;
  }
  return out;
}

function looksLikeProbabilities(x: Float32Array, classes: number): boolean {
  for (let r = 0; r < x.length; r += classes) {
    let sum = 0;
    for (let j = 0; j < classes; j++) {
      if (x[r + j] < 0) return false;
      sum += x[r + j];
    }
    if (Math.abs(sum - 1) > 1e-3) return false;
  }
  return true;
}

function transposeInput(x: Float32Array, [n, a, b, c]: number[], from: InputLayout): Float32Array {
  const out = new Float32Array(x.length);
  if (from === 'NHWC') {
    // [n, h, w, c] → [n, c, h, w]
    const [h, w, ch] = [a, b, c];
    for (let i = 0; i < n; i++)
      for (let y = 0; y < h; y++)
        for (let xx = 0; xx < w; xx++)
          for (let k = 0; k < ch; k++)
            out[((i * ch + k) * h + y) * w + xx] = x[((i * h + y) * w + xx) * ch + k];
  } else {
    // [n, c, h, w] → [n, h, w, c]
    const [ch, h, w] = [a, b, c];
    for (let i = 0; i < n; i++)
      for (let k = 0; k < ch; k++)
        for (let y = 0; y < h; y++)
          for (let xx = 0; xx < w; xx++)
            out[((i * h + y) * w + xx) * ch + k] = x[((i * ch + k) * h + y) * w + xx];
  }
  return out;
}

/** Runs an option check, turning its `OptionError` into the package's `INVALID_OPTION`. */
function option<T>(check: () => T): T {
  try {
    return check();
  } catch (err) {
    throw new OnnxError('INVALID_OPTION', (err as Error).message, { cause: err });
  }
}

/** Resolved session options, shared with the benchmark. */
export function sessionOptions(options: ClassifierOptions): ClassifierInfo['session'] {
  return option(() => ({
    threads: checkInteger('threads', options.threads ?? 1, { min: 0 }),
    spinning: checkBoolean('spinning', options.spinning ?? false),
    graphOptimization: checkOneOf('graphOptimization', options.graphOptimization ?? 'all', [
      'disabled',
      'basic',
      'extended',
      'all',
    ] as const),
    executionMode: checkOneOf('executionMode', options.executionMode ?? 'sequential', [
      'sequential',
      'parallel',
    ] as const),
  }));
}

function ortOptions(
  s: ClassifierInfo['session'],
  provider: string,
  logLevel: OnnxLogLevel,
): Ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [provider],
    logSeverityLevel: LOG_SEVERITY[logLevel],
    intraOpNumThreads: s.threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: s.graphOptimization,
    executionMode: s.executionMode,
    extra: {
      session: {
        intra_op: { allow_spinning: s.spinning ? '1' : '0' },
        inter_op: { allow_spinning: s.spinning ? '1' : '0' },
      },
    },
  };
}

/** `[height, width, channels]` of an input shape; sizes that are not fixed are `undefined`. */
function inputSizeOf(info: ClassifierInfo): Classifier['inputSize'] {
  const [, a, b, c] = info.inputShape;
  const fixed = (d: Dim) => (typeof d === 'number' && d > 0 ? d : undefined);
  return info.inputLayout === 'NCHW' ? [fixed(b), fixed(c), fixed(a)] : [fixed(a), fixed(b), fixed(c)];
}

/**
 * An image classifier running an ONNX model in onnxruntime-node (an optional peer dependency,
 * loaded by {@link OnnxClassifier.load}). Works with files written by this package and with other
 * producers' (their input/output names and shapes are read from the model, not assumed). As a
 * `Classifier` it takes batches in the model's layout, normalised as its metadata says (`'unit'`
 * when it says nothing).
 */
export class OnnxClassifier implements Classifier {
  readonly classes: number;
  readonly inputSize: Classifier['inputSize'];
  readonly layout: InputLayout;
  readonly normalization: Normalization;

  private constructor(
    private readonly ort: OnnxRuntime,
    private readonly session: Ort.InferenceSession,
    /** What the model is and how it runs. */
    readonly info: ClassifierInfo,
    private readonly batchSize: number,
    private readonly maxInputBytes: number,
  ) {
    this.classes = info.classes;
    this.inputSize = inputSizeOf(info);
    this.layout = info.inputLayout;
    this.normalization = info.normalization ?? 'unit';
  }

  /**
   * Loads an ONNX model from a file path or its bytes and starts a session. Throws an
   * {@link OnnxError} `RUNTIME_MISSING` when onnxruntime-node is not installed.
   */
  static async load(source: string | Uint8Array, options: ClassifierOptions = {}): Promise<OnnxClassifier> {
    const what = typeof source === 'string' ? `ONNX file "${source}"` : 'ONNX model bytes';
    const batchSize = option(() => checkInteger('batchSize', options.batchSize ?? 256, { min: 1 }));
    const maxInputBytes = option(() =>
      checkInteger('maxInputBytes', options.maxInputBytes ?? ONNX_MAX_INPUT_BYTES, { min: 1 }),
    );
    const s = sessionOptions(options);
    let bytes: Uint8Array;
    if (typeof source === 'string') {
      // A regular file only: onnxruntime opens the path again, and a FIFO would block it.
      bytes = await readRegularFile(
        source,
        (reason, cause) =>
          (cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT'
            ? new OnnxError('FILE_NOT_FOUND', `ONNX model file not found: ${source}`, { cause })
            : new OnnxError('INVALID_MODEL_FILE', `cannot read ONNX model file ${source}: ${reason}`, {
                cause,
              }),
        { maxBytes: ONNX_MAX_FILE_BYTES },
      );
    } else {
      bytes = source;
    }
    if (bytes.length === 0)
      throw new OnnxError('INVALID_MODEL_FILE', `${what} is empty; expected an ONNX ModelProto`);
    const model = decodeModel(bytes, what);

    const providers = options.executionProviders ?? ['cuda', 'cpu'];
    if (providers.length === 0)
      throw new OnnxError('INVALID_OPTION', 'executionProviders must name at least one provider');
    const logLevel = options.logLevel ?? 'error';
    if (!(logLevel in LOG_SEVERITY)) {
      throw new OnnxError(
        'INVALID_OPTION',
        `logLevel must be one of ${Object.keys(LOG_SEVERITY).join(', ')}, got ${String(logLevel)}`,
      );
    }
    const ort = await loadOnnxRuntime();
    // Read once, at the first session: the provider probe below logs through this logger.
    ort.env.logLevel = logLevel === 'error' ? 'fatal' : logLevel;
    const failures: { provider: string; reason: string }[] = [];
    let session: Ort.InferenceSession | undefined;
    let used = '';
    for (const provider of providers) {
      try {
        const opts = ortOptions(s, provider, logLevel);
        session = await (typeof source === 'string'
          ? ort.InferenceSession.create(source, opts)
          : ort.InferenceSession.create(bytes, opts));
        used = provider;
        break;
      } catch (err) {
        failures.push({ provider, reason: (err as Error).message });
      }
    }
    if (!session) {
      throw new OnnxError(
        'SESSION_FAILED',
        `${what}: onnxruntime could not start a session: ${failures.map((f) => `${f.provider}: ${f.reason}`).join('; ')}`,
      );
    }
    try {
      const info = describeSession(session, model, what, used, failures, s);
      checkInputSize(info, what, maxInputBytes);
      return new OnnxClassifier(ort, session, info, batchSize, maxInputBytes);
    } catch (err) {
      await session.release();
      throw err;
    }
  }

  /**
   * Classifies `count` images given as float32 pixels (already normalised as the model expects)
   * with `shape` `[count, …]` in the model's layout (or `options.layout`). Large inputs run in
   * batches. Returns probabilities (softmax applied if the model outputs logits) and labels.
   * onnxruntime reads `x` in place: leave it unchanged until the returned promise settles.
   */
  async predict(
    x: Float32Array,
    shape: readonly number[],
    options: PredictOptions = {},
  ): Promise<Prediction> {
    const info = this.info;
    if (!(x instanceof Float32Array))
      throw new OnnxError('INVALID_INPUT', 'predict expects x to be a Float32Array');
    if (!Array.isArray(shape) || shape.length !== 4 || shape.some((d) => !Number.isInteger(d) || d < 0)) {
      const got = Array.isArray(shape) ? `[${shape.join(', ')}]` : describeValue(shape);
      throw new OnnxError('INVALID_INPUT', `shape must be 4 non-negative integers [N, …], got ${got}`);
    }
    const needed = shape.reduce((a, b) => a * b, 1);
    if (x.length !== needed) {
      throw new OnnxError(
        'INVALID_INPUT',
        `input has ${x.length} values but shape [${shape.join(', ')}] needs ${needed}`,
      );
    }
    // A NaN pixel gives a NaN row of probabilities, whose arg-max is class 0: a label from nothing.
    const bad = nonFiniteIndex(x);
    if (bad >= 0) {
      throw new OnnxError(
        'INVALID_INPUT',
        `input value ${bad} is ${x[bad]}: images must hold finite numbers`,
      );
    }
    let data = x;
    let dims = [...shape];
    const layout = options.layout ?? info.inputLayout;
    if (layout !== 'NCHW' && layout !== 'NHWC')
      throw new OnnxError('INVALID_INPUT', `layout must be 'NCHW' or 'NHWC', got ${String(layout)}`);
    if (layout !== info.inputLayout) {
      data = transposeInput(x, dims, layout);
      dims = layout === 'NHWC' ? [dims[0], dims[3], dims[1], dims[2]] : [dims[0], dims[2], dims[3], dims[1]];
    }
    for (let i = 1; i < 4; i++) {
      const expected = info.inputShape[i];
      if (typeof expected === 'number' && expected > 0 && expected !== dims[i]) {
        throw new OnnxError(
          'INVALID_INPUT',
          `input shape [${shape.join(', ')}] (${layout}) does not match model input "${info.inputName}" [${info.inputShape.join(', ')}] (${info.inputLayout})`,
        );
      }
    }
    const count = dims[0];
    const per = dims[1] * dims[2] * dims[3];
    const perBytes = 4 * per;
    if ((info.fixedBatch ?? 1) * perBytes > this.maxInputBytes) {
      throw new OnnxError(
        'INVALID_INPUT',
        `one image of ${dims.slice(1).join('×')} floats takes ${perBytes} bytes, more than the ${this.maxInputBytes}-byte limit of one run (raise it with the maxInputBytes option)`,
      );
    }
    const batchSize = option(() =>
      checkInteger('batchSize', options.batchSize ?? this.batchSize, { min: 1 }),
    );
    const chunk = info.fixedBatch ?? Math.min(batchSize, Math.floor(this.maxInputBytes / perBytes));
    const raw = new Float32Array(count * info.classes);
    for (let start = 0; start < count; start += chunk) {
      const n = Math.min(chunk, count - start);
      const rows = info.fixedBatch ?? n;
      // onnxruntime reads a view in place: copy only to pad a short batch up to a fixed one (the
      // copy cost as much as the whole run of a small model, e.g. mlp2 at batch 64).
      const view = data.subarray(start * per, (start + n) * per);
      let input = view;
      if (rows !== n) {
        input = new Float32Array(rows * per);
        input.set(view);
      }
      const feeds = {
        [info.inputName]: new this.ort.Tensor('float32', input, [rows, dims[1], dims[2], dims[3]]),
      };
      let result: Ort.InferenceSession.OnnxValueMapType;
      try {
        result = await this.session.run(feeds, [info.outputName]);
      } catch (err) {
        throw new OnnxError(
          'INVALID_INPUT',
          `onnxruntime refused a batch of shape [${rows}, ${dims.slice(1).join(', ')}] (${info.inputLayout}) for input "${info.inputName}", which the model declares as [${info.inputShape.join(', ')}]: ${(err as Error).message.split('\n')[0]}`,
          { cause: err },
        );
      }
      const out = result[info.outputName];
      const values = out.data as Float32Array;
      if (values.length !== rows * info.classes) {
        throw new OnnxError(
          'INVALID_INPUT',
          `model output "${info.outputName}" has shape [${out.dims.join(', ')}], expected [${rows}, ${info.classes}]`,
        );
      }
      raw.set(values.subarray(0, n * info.classes), start * info.classes);
      out.dispose();
    }
    const isProb =
      info.output === 'probabilities' ||
      (info.output === 'unknown' && looksLikeProbabilities(raw, info.classes));
    const nonFinite = nonFiniteIndex(raw);
    if (nonFinite >= 0) {
      throw new OnnxError(
        'INVALID_MODEL_FILE',
        `model output "${info.outputName}" is ${raw[nonFinite]} for image ${Math.floor(nonFinite / info.classes)}, class ${nonFinite % info.classes}: the model's weights hold non-finite values`,
      );
    }
    const probabilities = isProb ? raw : softmaxRows(raw, info.classes);
    return { probabilities, labels: argmax(probabilities, info.classes), count, classes: info.classes };
  }

  /** Class probabilities of a batch in the model's layout (the `Classifier` interface). */
  async probabilities(batch: ImageBatchInput): Promise<Float32Array> {
    return (await this.predict(batch.x, batch.shape)).probabilities;
  }

  /** Releases the onnxruntime session. */
  async dispose(): Promise<void> {
    await this.session.release();
  }
}

/**
 * Refuses a model whose declared input is too large for one run: the fixed dimensions times a
 * fixed batch (or one image) must fit in `maxInputBytes`, before any input is allocated.
 */
function checkInputSize(info: ClassifierInfo, what: string, maxInputBytes: number): void {
  const fixed = info.inputShape.slice(1).filter((d): d is number => typeof d === 'number' && d > 0);
  const bytes = 4 * (info.fixedBatch ?? 1) * fixed.reduce((a, b) => a * b, 1);
  if (bytes > maxInputBytes) {
    throw new OnnxError(
      'NOT_AN_IMAGE_MODEL',
      `${what}: input "${info.inputName}" is declared [${info.inputShape.join(', ')}], ${bytes} bytes of float32 per run, more than the ${maxInputBytes}-byte limit (raise it with the maxInputBytes option)`,
    );
  }
}

function describeSession(
  session: Ort.InferenceSession,
  model: ModelProto,
  what: string,
  provider: string,
  failures: { provider: string; reason: string }[],
  s: ClassifierInfo['session'],
): ClassifierInfo {
  const metadata = readMetadata(model);
  if (session.inputNames.length !== 1) {
    throw new OnnxError(
      'NOT_AN_IMAGE_MODEL',
      `${what} has ${session.inputNames.length} inputs (${session.inputNames.join(', ')}); expected one image input`,
    );
  }
  const inputName = session.inputNames[0];
  const meta = session.inputMetadata?.[0];
  const declared = dimsOf(model, inputName);
  let dims: Dim[] | undefined;
  let floatInput: boolean;
  if (meta?.isTensor) {
    dims = meta.shape.map((d, i) =>
      typeof d === 'number' && d >= 0 ? d : typeof d === 'string' ? d : `d${i}`,
    );
    floatInput = meta.type === 'float32';
  } else {
    dims = declared?.dims;
    floatInput = declared?.elemType === DataType.FLOAT;
  }
  if (dims?.length !== 4) {
    throw new OnnxError(
      'NOT_AN_IMAGE_MODEL',
      `${what}: input "${inputName}" has shape [${dims?.join(', ') ?? 'unknown'}]; expected an image tensor of rank 4 ([N, C, H, W] or [N, H, W, C])`,
    );
  }
  if (!floatInput)
    throw new OnnxError(
      'NOT_AN_IMAGE_MODEL',
      `${what}: input "${inputName}" is not float32; expected float32 pixels`,
    );
  const outputNames = [...session.outputNames];
  const outputName = outputNames.find((n) => n === 'probabilities' || n === 'logits') ?? outputNames[0];
  const outMeta = session.outputMetadata?.find((m) => m.name === outputName);
  const outDims: Dim[] = outMeta?.isTensor
    ? outMeta.shape.map((d) => d)
    : (dimsOf(model, outputName)?.dims ?? []);
  const classDims = outDims.slice(1);
  const classes = classDims.every((d) => typeof d === 'number')
    ? classDims.reduce<number>((a, b) => a * (b as number), 1)
    : Number.NaN;
  if (!(classes >= 1)) {
    throw new OnnxError(
      'NOT_AN_IMAGE_MODEL',
      `${what}: output "${outputName}" has shape [${outDims.join(', ')}]; expected [N, classes] with a fixed class count`,
    );
  }
  const names = metadata.classNames;
  const problem = metadata.normalization === null ? undefined : normalizationProblem(metadata.normalization);
  if (problem !== undefined) {
    throw new OnnxError('INVALID_MODEL_FILE', `${what}: metadata lenet.normalization: ${problem}`);
  }
  const fixedBatch = typeof dims[0] === 'number' && dims[0] > 0 ? dims[0] : null;
  return {
    executionProvider: provider,
    providerFailures: failures,
    inputName,
    inputShape: dims as ClassifierInfo['inputShape'],
    inputLayout: guessLayout(dims, metadata.inputLayout),
    fixedBatch,
    outputName,
    outputNames,
    classes,
    classNames:
      names && names.length === classes ? names : Array.from({ length: classes }, (_, i) => String(i)),
    output: metadata.output ?? 'unknown',
    normalization: metadata.normalization,
    preset: metadata.preset,
    producer: [model.producer_name, model.producer_version].filter(Boolean).join(' ') || 'unknown',
    opset: model.opset_import?.find((o) => !o.domain || o.domain === 'ai.onnx')?.version ?? 0,
    irVersion: model.ir_version ?? 0,
    metadata: metadata.all,
    session: s,
  };
}
