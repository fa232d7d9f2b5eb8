import { writeFileAtomic } from '@lenet/common';
import type { ModelSpec } from '@lenet/models';
import { OnnxError } from './errors.js';
import { dropFinalSoftmax, foldBatchNorms, fusePadIntoConv } from './fold.js';
import { irToGraph } from './graph.js';
import type { FlattenStrategy } from './layers/flatten.js';
import { modelToIr } from './layers.js';
import { type InputLayout, metadataProps, type Normalization } from './metadata.js';
import { encodeModel } from './proto/codec.js';
import type { ModelProto } from './proto/types.js';
import { modelFromSpec } from './spec-model.js';
import type * as tf from './tfjs.js';
import { PRODUCER_NAME, PRODUCER_VERSION } from './version.js';

/** A spec from `@lenet/models` plus its weights, in `model.getWeights()` order or by weight name. */
export interface SpecWithWeights {
  spec: ModelSpec;
  weights: tf.Tensor[] | Record<string, tf.Tensor>;
}

/** What {@link exportOnnx} accepts: a TensorFlow.js LayersModel or a spec with weights. */
export type ExportSource = tf.LayersModel | SpecWithWeights;

/** Options of {@link exportOnnx} and {@link toOnnxModel}. */
export interface ExportOptions {
  /** ONNX opset of the default domain, 13 … 21. Default 17. */
  opset?: number;
  /** Layout of the graph input: `'NCHW'` (default, what ONNX users expect) or `'NHWC'` (one Transpose). */
  inputLayout?: InputLayout;
  /**
   * Fold each BatchNorm that directly follows a Conv/Dense (no activation between; inference-mode
   * Dropout may be) into that layer's weights, as `torch.onnx.export` does. Default true; other
   * BatchNorms stay `BatchNormalization` nodes.
   */
  foldBatchNorm?: boolean;
  /** Store weights as float16 (cast to float32 in the graph, halving the file). Default `'float32'`. */
  weightType?: 'float32' | 'float16';
  /** Leave out the final Softmax so the graph outputs logits. Default false. */
  logits?: boolean;
  /** How Keras' channels-last Flatten order is reproduced. Default `'permute-weights'`. */
  flatten?: FlattenStrategy;
  /** Graph input name. Default `'input'`. */
  inputName?: string;
  /** Graph output name. Default `'probabilities'`, or `'logits'` with `logits: true`. */
  outputName?: string;
  /** Preset/model name for the metadata. Default: the spec's or the model's name. */
  preset?: string;
  /** Class names for the metadata. Default `'0' … 'k-1'`. */
  classNames?: string[];
  /** Normalisation the model expects, for the metadata. Default `'unit'` (pixel / 255). */
  normalization?: Normalization;
  /** Free text stored as the model's doc_string. */
  docString?: string;
}

/** What was written by {@link exportOnnx}. */
export interface ExportResult {
  path: string;
  bytes: number;
  opset: number;
  irVersion: number;
  inputName: string;
  /** Graph input shape, batch dimension first as `'batch'`. */
  inputShape: (number | string)[];
  inputLayout: InputLayout;
  outputName: string;
  output: 'probabilities' | 'logits';
  nodes: number;
  /** BatchNorm layers folded into the preceding Conv/Dense. */
  foldedBatchNorms: number;
}

/** Lowest and highest opset the exporter writes. */
export const MIN_OPSET = 13;
export const MAX_OPSET = 21;
export const DEFAULT_OPSET = 17;

/** The IR version that goes with an opset (ONNX release table). */
export function irVersionForOpset(opset: number): number {
  if (opset <= 14) return 7;
  if (opset <= 18) return 8;
  if (opset <= 20) return 9;
  return 10;
}

function isLayersModel(source: ExportSource): source is tf.LayersModel {
  return (
    typeof (source as tf.LayersModel).getWeights === 'function' &&
    Array.isArray((source as tf.LayersModel).layers)
  );
}

function checkOptions(options: ExportOptions): void {
  const opset = options.opset ?? DEFAULT_OPSET;
  if (!Number.isInteger(opset) || opset < MIN_OPSET || opset > MAX_OPSET) {
    throw new OnnxError(
      'INVALID_OPTION',
      `opset must be an integer from ${MIN_OPSET} to ${MAX_OPSET}, got ${opset}`,
    );
  }
  if (options.inputLayout && options.inputLayout !== 'NCHW' && options.inputLayout !== 'NHWC') {
    throw new OnnxError(
      'INVALID_OPTION',
      `inputLayout must be 'NCHW' or 'NHWC', got ${String(options.inputLayout)}`,
    );
  }
  if (options.weightType && options.weightType !== 'float32' && options.weightType !== 'float16') {
    throw new OnnxError(
      'INVALID_OPTION',
      `weightType must be 'float32' or 'float16', got ${String(options.weightType)}`,
    );
  }
  for (const key of ['inputName', 'outputName'] as const) {
    const v = options[key];
    if (v !== undefined && (typeof v !== 'string' || v.length === 0)) {
      throw new OnnxError('INVALID_OPTION', `${key} must be a non-empty string`);
    }
  }
}

/**
 * Builds the ONNX ModelProto (as plain objects) for a model without writing anything.
 * Returns the proto and a summary; {@link exportOnnx} serialises and writes it.
 */
export function toOnnxModel(
  source: ExportSource,
  options: ExportOptions = {},
): { model: ModelProto; summary: Omit<ExportResult, 'path' | 'bytes'> } {
  checkOptions(options);
  const {
    model: tfModel,
    dispose,
    specName,
  } = isLayersModel(source)
    ? { model: source, dispose: () => {}, specName: undefined }
    : { ...modelFromSpec(source), specName: source.spec.name };
  try {
    const opset = options.opset ?? DEFAULT_OPSET;
    const inputLayout = options.inputLayout ?? 'NCHW';
    const fold = options.foldBatchNorm ?? true;
    const ir = modelToIr(tfModel, { flatten: options.flatten });
    let ops = fusePadIntoConv(ir.ops);
    const bnBefore = ops.filter((o) => o.kind === 'batchNorm').length;
    if (fold) ops = foldBatchNorms(ops);
    const folded = bnBefore - ops.filter((o) => o.kind === 'batchNorm').length;
    let output: 'probabilities' | 'logits' = 'logits';
    if (options.logits) {
      ops = dropFinalSoftmax(ops).ops;
    } else {
      const last = ops[ops.length - 1];
      if (last?.kind === 'activation' && last.fn === 'softmax') output = 'probabilities';
    }
    const inputName = options.inputName ?? 'input';
    const outputName = options.outputName ?? output;
    const name = options.preset ?? specName ?? tfModel.name;
    const graph = irToGraph(
      { ...ir, ops },
      {
        graphName: name,
        inputName,
        outputName,
        inputLayout,
        weightType: options.weightType ?? 'float32',
        batchDim: 'batch',
      },
    );
    const classNames = options.classNames ?? Array.from({ length: ir.outputs }, (_, i) => String(i));
    if (classNames.length !== ir.outputs) {
      throw new OnnxError(
        'INVALID_OPTION',
        `classNames has ${classNames.length} names but the model outputs ${ir.outputs} classes`,
      );
    }
    const [h, w, c] = ir.inputHwc;
    const inputShape: (number | string)[] = inputLayout === 'NCHW' ? ['batch', c, h, w] : ['batch', h, w, c];
    const irVersion = irVersionForOpset(opset);
    const model: ModelProto = {
      ir_version: irVersion,
      opset_import: [{ domain: '', version: opset }],
      producer_name: PRODUCER_NAME,
      producer_version: PRODUCER_VERSION,
      model_version: 1,
      doc_string:
        options.docString ?? `${name} exported from TensorFlow.js by ${PRODUCER_NAME} ${PRODUCER_VERSION}`,
      graph,
      metadata_props: metadataProps({
        preset: name,
        classNames,
        inputLayout,
        inputShape,
        normalization: options.normalization ?? 'unit',
        output,
        weightType: options.weightType ?? 'float32',
        batchNormFolded: fold,
      }),
    };
    return {
      model,
      summary: {
        opset,
        irVersion,
        inputName,
        inputShape,
        inputLayout,
        outputName,
        output,
        nodes: graph.node?.length ?? 0,
        foldedBatchNorms: folded,
      },
    };
  } finally {
    dispose();
  }
}

/** Serialises a model to ONNX bytes in memory (see {@link exportOnnx} for the options). */
export function toOnnxBytes(source: ExportSource, options: ExportOptions = {}): Uint8Array {
  return encodeModel(toOnnxModel(source, options).model);
}

/**
 * Exports a TensorFlow.js LayersModel (or a `{ spec, weights }` pair) to an ONNX file at `path`.
 * The file is written to a temporary name and renamed, so a failed export leaves nothing behind.
 */
export async function exportOnnx(
  source: ExportSource,
  path: string,
  options: ExportOptions = {},
): Promise<ExportResult> {
  const { model, summary } = toOnnxModel(source, options);
  const bytes = encodeModel(model);
  await writeFileAtomic(path, bytes);
  return { path, bytes: bytes.length, ...summary };
}
