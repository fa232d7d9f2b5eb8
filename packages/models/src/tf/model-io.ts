import { readFile, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { writeFileAtomic } from '@lenet/common';
import * as tf from '../tfjs.js';
import { ModelFileError } from './errors.js';

/** Name of the topology + manifest file in a model directory. */
export const MODEL_JSON = 'model.json';
/** Name of the single weight file `saveModel` writes. */
export const WEIGHTS_BIN = 'weights.bin';

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

function specBytes(file: string, spec: unknown, index: number): number {
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
  if (quantization === undefined) return size * bytes;
  const q = isObject(quantization) ? quantization.dtype : undefined;
  const qBytes = typeof q === 'string' ? QUANTIZED_BYTES[q] : undefined;
  if (qBytes === undefined) {
    throw new ModelFileError(file, `weight ${name}: unsupported quantization ${JSON.stringify(q)}`);
  }
  return size * qBytes;
}

async function safeWeightPath(dir: string, realDir: string, file: string, path: unknown): Promise<string> {
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
  try {
    real = await realpath(full);
    if (!(await stat(real)).isFile()) throw new Error('not a regular file');
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
  return real;
}

/**
 * Reads and checks a model directory: `model.json` must be layers-format JSON with a topology and
 * a weights manifest; every weight path must stay inside the directory (no `..`, absolute paths,
 * URLs or symlinks leading out); the weight files' sizes must match the manifest exactly.
 */
export async function readModelFiles(dir: string): Promise<ModelArtifactsOnDisk> {
  const file = join(dir, MODEL_JSON);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ModelFileError(file, 'cannot read model.json (is this a model directory?)', { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ModelFileError(file, `not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  if (!isObject(json)) throw new ModelFileError(file, 'must hold a JSON object');
  if (!isObject(json.modelTopology)) throw new ModelFileError(file, 'has no modelTopology object');
  if (json.format !== undefined && json.format !== 'layers-model') {
    throw new ModelFileError(file, `format is ${JSON.stringify(json.format)}, expected "layers-model"`);
  }
  const manifest = json.weightsManifest;
  if (!Array.isArray(manifest)) throw new ModelFileError(file, 'has no weightsManifest list');
  const realDir = await realpath(dir);
  const specs: tf.io.WeightsManifestEntry[] = [];
  const chunks: Uint8Array[] = [];
  for (const [g, group] of manifest.entries()) {
    if (!isObject(group) || !Array.isArray(group.paths) || !Array.isArray(group.weights)) {
      throw new ModelFileError(file, `weightsManifest group ${g} needs "paths" and "weights" lists`);
    }
    const expected = group.weights.reduce(
      (n: number, spec: unknown, i: number) => n + specBytes(file, spec, i),
      0,
    );
    let actual = 0;
    for (const path of group.paths) {
      const real = await safeWeightPath(dir, realDir, file, path);
      const data = new Uint8Array(await readFile(real));
      actual += data.byteLength;
      chunks.push(data);
    }
    if (actual !== expected) {
      throw new ModelFileError(
        file,
        `weight files of group ${g} (${group.paths.join(', ')}) hold ${actual} bytes, the manifest describes ${expected}`,
      );
    }
    specs.push(...(group.weights as tf.io.WeightsManifestEntry[]));
  }
  const weightData = concatBytes(chunks);
  const metadata = isObject(json.userDefinedMetadata) ? json.userDefinedMetadata : undefined;
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
 * Loads a model saved by {@link saveModel} (or any TensorFlow.js layers-format directory) on any
 * backend, after validating the manifest and the weight paths (none may leave `dir`).
 */
export async function loadModel(dir: string): Promise<tf.LayersModel> {
  return modelFromArtifacts(dir, await readModelFiles(dir));
}

/** The `userDefinedMetadata` of a saved model (e.g. its spec and normalisation), or `{}`. */
export async function readModelMetadata(dir: string): Promise<ModelMetadata> {
  return (await readModelFiles(dir)).metadata ?? {};
}
