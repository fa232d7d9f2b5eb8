import { realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { nonFiniteIndex, normalizationProblem, readRegularFile, writeFileAtomic } from '@lenet/common';
import { jsonTextDepth, MAX_JSON_DEPTH } from '../json-depth.js';
import type { SpecLimits } from '../limits.js';
import { checkLimit } from '../options.js';
import * as tf from '../tfjs.js';
import { ModelFileError } from './errors.js';
import { checkTopologyLimits } from './topology.js';

/** Name of the topology + manifest file in a model directory. */
export const MODEL_JSON = 'model.json';
/** Name of the single weight file `saveModel` writes. */
export const WEIGHTS_BIN = 'weights.bin';

/** Default cap on the weight bytes a model's manifest may declare: 1 GiB (lenet's presets need under 32 MB). */
export const MODEL_MAX_WEIGHT_BYTES = 1024 * 1024 * 1024;
/** Default cap on the size of `model.json`: 16 MiB (lenet writes 5 to 50 KB). */
export const MODEL_JSON_MAX_BYTES = 16 * 1024 * 1024;

/**
 * Options of {@link readModelFiles} and {@link loadModel}: limits checked from what `model.json`
 * declares, before the weights are read or the model is built. The spec limits (`maxParams`,
 * `maxActivations`, `maxLayers`) apply to the topology, with the same defaults as `buildModel`.
 */
export interface ReadModelOptions extends SpecLimits {
  /** Largest total size of the weights the manifest declares. Default {@link MODEL_MAX_WEIGHT_BYTES}. */
  maxBytes?: number;
  /** Largest `model.json`. Default {@link MODEL_JSON_MAX_BYTES}. */
  maxJsonBytes?: number;
}

/** JSON-serialisable metadata stored in `model.json` under `userDefinedMetadata`. */
export type ModelMetadata = Record<string, unknown>;

/** Options for {@link saveModel}. */
export interface SaveModelOptions {
  /** Extra JSON stored as `userDefinedMetadata` (e.g. the model spec and input normalisation). */
  metadata?: ModelMetadata;
}

/** What {@link saveModel} wrote. */
export interface SavedModelInfo {
  dir: string;
  files: string[];
  weightBytes: number;
}

/** The parts of a TensorFlow.js layers-format model, read and checked from a directory. */
export interface ModelArtifactsOnDisk {
  modelTopology: object;
  weightSpecs: tf.io.WeightsManifestEntry[];
  weightData: ArrayBuffer;
  metadata?: ModelMetadata;
}

function joinBuffers(data: tf.io.WeightData | undefined): Uint8Array {
  if (data === undefined) return new Uint8Array(0);
  return concatBytes((Array.isArray(data) ? data : [data]).map((b) => new Uint8Array(b)));
}

function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const total = parts.reduce((n, p) => n + p.byteLength, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.byteLength;
  }
  return out;
}

/** Serialises a model to in-memory TensorFlow.js artifacts (works on every backend). */
export async function modelArtifacts(model: tf.LayersModel): Promise<tf.io.ModelArtifacts> {
  let captured: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      captured = artifacts;
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
  if (captured === undefined)
    throw new ModelFileError(model.name, 'TensorFlow.js produced no model artifacts');
  return captured;
}

/**
 * Writes the files of a model directory from artifacts: the weight file first, then `model.json`,
 * each atomically (temporary name, then rename), so a reader never sees a half-written model.
 */
export async function writeModelFiles(
  dir: string,
  artifacts: tf.io.ModelArtifacts,
  metadata?: ModelMetadata,
): Promise<SavedModelInfo> {
  const weights = joinBuffers(artifacts.weightData);
  const json: tf.io.ModelJSON = {
    modelTopology: artifacts.modelTopology as object,
    format: artifacts.format ?? 'layers-model',
    generatedBy: artifacts.generatedBy ?? `TensorFlow.js tfjs-layers v${tf.version_layers}`,
    convertedBy: artifacts.convertedBy ?? null,
    weightsManifest: [{ paths: [WEIGHTS_BIN], weights: artifacts.weightSpecs ?? [] }],
  };
  const meta = { ...(artifacts.userDefinedMetadata ?? {}), ...(metadata ?? {}) };
  if (Object.keys(meta).length > 0) json.userDefinedMetadata = meta as tf.io.ModelJSON['userDefinedMetadata'];
  await writeFileAtomic(join(dir, WEIGHTS_BIN), weights);
  await writeFileAtomic(join(dir, MODEL_JSON), `${JSON.stringify(json)}\n`);
  return { dir, files: [MODEL_JSON, WEIGHTS_BIN], weightBytes: weights.byteLength };
}

/**
 * Saves a model in TensorFlow.js layers format — `model.json` plus `weights.bin` — on any backend
 * (wasm and cpu included, where tfjs has no `file://` handler). Files are written atomically.
 */
export async function saveModel(
  model: tf.LayersModel,
  dir: string,
  options: SaveModelOptions = {},
): Promise<SavedModelInfo> {
  return writeModelFiles(dir, await modelArtifacts(model), options.metadata);
}

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1 };
const QUANTIZED_BYTES: Record<string, number> = { uint8: 1, uint16: 2, float16: 2 };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function specBytes(file: string, spec: unknown, index: number, maxBytes: number): number {
  if (!isObject(spec)) throw new ModelFileError(file, `weightsManifest weight ${index} is not an object`);
  const { name, shape, dtype, quantization } = spec;
  if (typeof name !== 'string') throw new ModelFileError(file, `weightsManifest weight ${index} has no name`);
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new ModelFileError(file, `weight ${name}: shape must be a list of non-negative integers`);
  }
  const size = shape.reduce((a: number, b: number) => a * b, 1);
  const bytes = typeof dtype === 'string' ? DTYPE_BYTES[dtype] : undefined;
  if (bytes === undefined)
    throw new ModelFileError(file, `weight ${name}: unsupported dtype ${JSON.stringify(dtype)}`);
  let total = size * bytes;
  if (quantization !== undefined) {
    const q = isObject(quantization) ? quantization.dtype : undefined;
    const qBytes = typeof q === 'string' ? QUANTIZED_BYTES[q] : undefined;
    if (qBytes === undefined) {
      throw new ModelFileError(file, `weight ${name}: unsupported quantization ${JSON.stringify(q)}`);
    }
    total = size * qBytes;
  }
  if (total > maxBytes)
    throw tooManyBytes(
      file,
      `weight ${name} of shape [${shape.join(', ')}] alone takes ${total} bytes`,
      maxBytes,
    );
  return total;
}

function tooManyBytes(file: string, what: string, maxBytes: number): ModelFileError {
  return new ModelFileError(
    file,
    `${what}, more than the ${maxBytes}-byte limit (raise it with the maxBytes option)`,
  );
}

/** Throws a {@link ModelFileError} naming a float32 weight that holds NaN or ±Infinity. */
function checkFinite(file: string, spec: tf.io.WeightsManifestEntry, data: Uint8Array, offset: number): void {
  if (spec.dtype !== 'float32' || spec.quantization !== undefined) return;
  const count = spec.shape.reduce((a, b) => a * b, 1);
  // A view where aligned; a copy where not (a weight's offset need not be a multiple of 4).
  const values =
    (data.byteOffset + offset) % 4 === 0
      ? new Float32Array(data.buffer, data.byteOffset + offset, count)
      : new Float32Array(data.slice(offset, offset + 4 * count).buffer);
  const bad = nonFiniteIndex(values);
  if (bad >= 0) {
    throw new ModelFileError(
      file,
      `weight ${spec.name} holds ${values[bad]} at index ${bad}: a model with non-finite weights gives NaN for every input (was it saved after training diverged?)`,
    );
  }
}

/** The real path of a weight file inside the model directory, and its size. */
async function safeWeightPath(
  dir: string,
  realDir: string,
  file: string,
  path: unknown,
): Promise<{ real: string; size: number }> {
  if (typeof path !== 'string' || path.length === 0) {
    throw new ModelFileError(file, `weight path ${JSON.stringify(path)} is not a file name`);
  }
  if (isAbsolute(path) || /^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(path) || path.includes('\\')) {
    throw new ModelFileError(
      file,
      `weight path ${JSON.stringify(path)} must be relative to the model directory`,
    );
  }
  const full = resolve(dir, path);
  const rel = relative(resolve(dir), full);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
    throw new ModelFileError(file, `weight path ${JSON.stringify(path)} leaves the model directory`);
  }
  let real: string;
  let size: number;
  try {
    real = await realpath(full);
    const info = await stat(real);
    if (!info.isFile()) throw new Error('not a regular file');
    size = info.size;
  } catch (error) {
    throw new ModelFileError(
      full,
      `weight file ${JSON.stringify(path)} named in ${file} is missing or unreadable`,
      {
        cause: error,
      },
    );
  }
  if (!real.startsWith(realDir + sep)) {
    throw new ModelFileError(
      file,
      `weight path ${JSON.stringify(path)} resolves outside the model directory`,
    );
  }
  return { real, size };
}

/** The limits of `options` with their defaults. */
function readLimits(options: ReadModelOptions): { maxBytes: number; maxJsonBytes: number } {
  return {
    maxBytes:
      options.maxBytes === undefined ? MODEL_MAX_WEIGHT_BYTES : checkLimit('maxBytes', options.maxBytes),
    maxJsonBytes:
      options.maxJsonBytes === undefined
        ? MODEL_JSON_MAX_BYTES
        : checkLimit('maxJsonBytes', options.maxJsonBytes),
  };
}

/** Reads `model.json`: a regular file within `maxJsonBytes`, nested at most 64 levels, parsed. */
async function readModelJson(file: string, maxJsonBytes: number): Promise<Record<string, unknown>> {
  const text = (
    await readRegularFile(
      file,
      (reason, cause) =>
        new ModelFileError(
          file,
          (cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT'
            ? 'cannot read model.json (is this a model directory?)'
            : `cannot read model.json: ${reason}`,
          cause === undefined ? undefined : { cause },
        ),
      { maxBytes: maxJsonBytes, maxBytesOption: 'maxJsonBytes' },
    )
  ).toString('utf8');
  if (jsonTextDepth(text) > MAX_JSON_DEPTH) {
    throw new ModelFileError(file, `nested more than ${MAX_JSON_DEPTH} levels deep; refused before parsing`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ModelFileError(file, `not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  if (!isObject(json)) throw new ModelFileError(file, 'must hold a JSON object');
  return json;
}

/**
 * Reads and checks a model directory: `model.json` must be a regular file of layers-format JSON
 * with a topology and a weights manifest; the topology's size (parameters, activations, layers)
 * must be within the limits, and the manifest's total within `maxBytes`, both checked before any
 * weight is read; every weight path must stay inside the directory (no `..`, absolute paths, URLs
 * or symlinks leading out) and be listed once; the weight files' sizes must match the manifest
 * exactly; float32 weights must be finite; a `normalize` in the metadata must be usable.
 */
export async function readModelFiles(
  dir: string,
  options: ReadModelOptions = {},
): Promise<ModelArtifactsOnDisk> {
  const { maxBytes, maxJsonBytes } = readLimits(options);
  const file = join(dir, MODEL_JSON);
  const json = await readModelJson(file, maxJsonBytes);
  if (!isObject(json.modelTopology)) throw new ModelFileError(file, 'has no modelTopology object');
  if (json.format !== undefined && json.format !== 'layers-model') {
    throw new ModelFileError(file, `format is ${JSON.stringify(json.format)}, expected "layers-model"`);
  }
  checkTopologyLimits(json.modelTopology, file, options);
  const manifest = json.weightsManifest;
  if (!Array.isArray(manifest)) throw new ModelFileError(file, 'has no weightsManifest list');
  let realDir: string;
  try {
    realDir = await realpath(dir);
  } catch (error) {
    throw new ModelFileError(dir, 'the model directory cannot be resolved', { cause: error });
  }
  const specs: tf.io.WeightsManifestEntry[] = [];
  const groups: { paths: string[]; expected: number; index: number }[] = [];
  const seen = new Set<string>();
  let declared = 0;
  for (const [g, group] of manifest.entries()) {
    if (!isObject(group) || !Array.isArray(group.paths) || !Array.isArray(group.weights)) {
      throw new ModelFileError(file, `weightsManifest group ${g} needs "paths" and "weights" lists`);
    }
    let expected = 0;
    for (const [i, spec] of group.weights.entries()) {
      expected += specBytes(file, spec, i, maxBytes);
      if (declared + expected > maxBytes) {
        throw tooManyBytes(
          file,
          `the manifest declares ${declared + expected} bytes of weights or more`,
          maxBytes,
        );
      }
    }
    declared += expected;
    const paths: string[] = [];
    let actual = 0;
    for (const path of group.paths) {
      const { real, size } = await safeWeightPath(dir, realDir, file, path);
      if (seen.has(real))
        throw new ModelFileError(file, `weight file ${JSON.stringify(path)} is listed twice`);
      seen.add(real);
      paths.push(real);
      actual += size;
    }
    // Sizes are compared before reading, so a short or padded file is refused without reading it.
    if (actual !== expected) {
      throw new ModelFileError(
        file,
        `weight files of group ${g} (${group.paths.join(', ')}) hold ${actual} bytes, the manifest describes ${expected}`,
      );
    }
    groups.push({ paths, expected, index: g });
    specs.push(...(group.weights as tf.io.WeightsManifestEntry[]));
  }
  const weightData = new Uint8Array(declared);
  let offset = 0;
  for (const group of groups) {
    for (const real of group.paths) {
      const data = await readRegularFile(
        real,
        (reason, cause) => new ModelFileError(real, reason, cause === undefined ? undefined : { cause }),
        { maxBytes: declared - offset },
      );
      weightData.set(data, offset);
      offset += data.byteLength;
    }
  }
  if (offset !== declared) {
    throw new ModelFileError(
      file,
      `the weight files changed while being read: ${offset} bytes, expected ${declared}`,
    );
  }
  let at = 0;
  for (const spec of specs) {
    checkFinite(file, spec, weightData, at);
    at += specBytes(file, spec, 0, maxBytes);
  }
  const metadata = isObject(json.userDefinedMetadata) ? json.userDefinedMetadata : undefined;
  const problem = metadata?.normalize === undefined ? undefined : normalizationProblem(metadata.normalize);
  if (problem !== undefined) throw new ModelFileError(file, `userDefinedMetadata: ${problem}`);
  return {
    modelTopology: json.modelTopology,
    weightSpecs: specs,
    weightData: weightData.buffer as ArrayBuffer,
    metadata,
  };
}

/** Builds a model from checked artifacts; wraps TensorFlow.js errors (unknown layer, …) with the file. */
export async function modelFromArtifacts(
  dir: string,
  artifacts: ModelArtifactsOnDisk,
): Promise<tf.LayersModel> {
  try {
    return await tf.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: artifacts.modelTopology,
        weightSpecs: artifacts.weightSpecs,
        weightData: artifacts.weightData,
      }),
    );
  } catch (error) {
    throw new ModelFileError(
      join(dir, MODEL_JSON),
      `TensorFlow.js could not build the model: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}

/**
 * Loads a model saved by {@link saveModel} (or a TensorFlow.js layers-format directory of a
 * sequential model made of the layer classes lenet builds) on any backend, after the checks of
 * {@link readModelFiles}: limits from the declared sizes, weight paths (none may leave `dir`),
 * finite weights.
 */
export async function loadModel(dir: string, options: ReadModelOptions = {}): Promise<tf.LayersModel> {
  return modelFromArtifacts(dir, await readModelFiles(dir, options));
}

/** The `userDefinedMetadata` of a saved model (e.g. its spec and normalisation), or `{}`. */
export async function readModelMetadata(dir: string, options: ReadModelOptions = {}): Promise<ModelMetadata> {
  return (await readModelFiles(dir, options)).metadata ?? {};
}
