/**
 * The `lenet.*` metadata an exported model carries: written by the exporter, read back by
 * `OnnxClassifier`, so a model file says how to feed it (layout, normalisation) and what it outputs.
 */
import type { ImageLayout, PixelNormalization } from '@lenet/common';
import type { ModelProto, StringStringEntry } from './proto/types.js';

/** Memory layout of the graph input. */
export type InputLayout = ImageLayout;

/** Input normalisation the model was trained with, as `@lenet/datasets` `batches({ normalize })`. */
export type Normalization = PixelNormalization;

/** What the graph outputs: probabilities (ends in softmax) or logits. */
export type OutputKind = 'probabilities' | 'logits';

/** Metadata keys written by the exporter (and read by `OnnxClassifier`). */
export const METADATA_KEYS = {
  preset: 'lenet.preset',
  classNames: 'lenet.class_names',
  inputLayout: 'lenet.input_layout',
  inputShape: 'lenet.input_shape',
  normalization: 'lenet.normalization',
  output: 'lenet.output',
  weightType: 'lenet.weight_type',
  batchNormFolded: 'lenet.batchnorm_folded',
} as const;

/** Everything the exporter records about a model. */
export interface LenetMetadata {
  preset: string;
  classNames: string[];
  inputLayout: InputLayout;
  /** Graph input shape, batch dimension first as its symbolic name. */
  inputShape: (number | string)[];
  normalization: Normalization;
  output: OutputKind;
  weightType: 'float32' | 'float16';
  batchNormFolded: boolean;
}

/** The metadata as ONNX `metadata_props` entries. */
export function metadataProps(m: LenetMetadata): StringStringEntry[] {
  const values: Record<string, string> = {
    [METADATA_KEYS.preset]: m.preset,
    [METADATA_KEYS.classNames]: JSON.stringify(m.classNames),
    [METADATA_KEYS.inputLayout]: m.inputLayout,
    [METADATA_KEYS.inputShape]: JSON.stringify(m.inputShape),
    [METADATA_KEYS.normalization]: JSON.stringify(m.normalization),
    [METADATA_KEYS.output]: m.output,
    [METADATA_KEYS.weightType]: m.weightType,
    [METADATA_KEYS.batchNormFolded]: String(m.batchNormFolded),
  };
  return Object.entries(values).map(([key, value]) => ({ key, value }));
}

/**
 * What a model's metadata says, for any producer: each `lenet.*` field is `null` when it is
 * absent or unreadable (other producers write none of them).
 */
export interface ReadMetadata {
  /** Every metadata entry, raw. */
  all: Record<string, string>;
  preset: string | null;
  classNames: string[] | null;
  inputLayout: InputLayout | null;
  normalization: Normalization | null;
  output: OutputKind | null;
}

function parseJson<T>(text: string | undefined, check: (v: unknown) => boolean): T | null {
  if (text === undefined) return null;
  try {
    const v = JSON.parse(text) as unknown;
    return check(v) ? (v as T) : null;
  } catch {
    return null;
  }
}

/** Reads the metadata of a decoded model. */
export function readMetadata(model: ModelProto): ReadMetadata {
  const all = Object.fromEntries((model.metadata_props ?? []).map((p) => [p.key, p.value]));
  const layout = all[METADATA_KEYS.inputLayout];
  const output = all[METADATA_KEYS.output];
  return {
    all,
    preset: all[METADATA_KEYS.preset] ?? null,
    classNames: parseJson<string[]>(
      all[METADATA_KEYS.classNames],
      (v) => Array.isArray(v) && v.every((s) => typeof s === 'string'),
    ),
    inputLayout: layout === 'NCHW' || layout === 'NHWC' ? layout : null,
    normalization: parseJson<Normalization>(
      all[METADATA_KEYS.normalization],
      (v) => v === 'unit' || (typeof v === 'object' && v !== null && 'mean' in v && 'std' in v),
    ),
    output: output === 'probabilities' || output === 'logits' ? output : null,
  };
}
