import { createHash } from 'node:crypto';
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeDirAtomic, writeFileAtomic } from '@lenet/common';
import type { MeanStd } from '@lenet/datasets';
import type { ModelSpec } from '@lenet/models';
import {
  MODEL_JSON,
  type ModelArtifactsOnDisk,
  ModelFileError,
  modelArtifacts,
  readModelFiles,
  writeModelFiles,
} from '@lenet/models/tf';
import { CheckpointError } from './checkpoint-error.js';
import { recoverBetweenRenames } from './checkpoint-recover.js';
import type { EpochLogs } from './logs.js';
import type { ResolvedOptimizerConfig, TrainOptimizer } from './optimizers.js';
import type { ScheduleState } from './schedules.js';
import * as tf from './tfjs.js';

/** File names inside a checkpoint directory. */
export const CHECKPOINT_FILES = {
  model: MODEL_JSON,
  optimizer: 'optimizer.json',
  optimizerData: 'optimizer.bin',
  state: 'state.json',
} as const;

/**
 * Where inside an epoch a checkpoint saved between batches was taken: resuming skips the epoch's
 * first `batch` batches (same seeded order and augmentation) and carries on with its sums, so the
 * epoch's logs and the weights come out as in an uninterrupted run.
 */
export interface EpochPosition {
  /** Batches of the epoch done. */
  batch: number;
  /** Batches per epoch of the run that saved it (resuming with another count is refused). */
  stepsPerEpoch: number;
  /** Samples of the epoch done. */
  samples: number;
  /** Σ per-sample loss over those samples (the device-side sum, float32). */
  lossSum: number;
  /** Samples of those classified right. */
  correct: number;
}

/** `state.json` of a checkpoint: everything besides weights that resuming needs. */
export interface CheckpointState {
  format: 'lenet-train-checkpoint';
  /** 1: saved between epochs; 2: saved between batches, with a `position` (older readers refuse it). */
  version: 1 | 2;
  /** Epochs completed. */
  epoch: number;
  /** Steps (batches) completed. */
  step: number;
  /** Planned epochs of the run that wrote it. */
  epochs: number;
  batchSize: number;
  seed: number;
  normalize: 'unit' | MeanStd;
  schedule: ScheduleState;
  history: EpochLogs[];
  /** Shapes of the model's weights, in `model.weights` order. */
  weightShapes: number[][];
  spec?: ModelSpec;
  specHash?: string;
  savedAt: string;
  /** Only in a checkpoint saved between batches: where in epoch `epoch` it was taken. */
  position?: EpochPosition;
}

/** `optimizer.json` of a checkpoint; the slot values are float32 in `optimizer.bin`, in order. */
export interface OptimizerFile {
  format: 'lenet-optimizer';
  version: 1;
  config: ResolvedOptimizerConfig;
  iterations: number;
  slots: { name: string; shape: number[] }[];
}

/** A checkpoint read from disk and checked for completeness. */
export interface LoadedCheckpoint {
  dir: string;
  model: ModelArtifactsOnDisk;
  optimizer: OptimizerFile;
  optimizerData: Float32Array;
  state: CheckpointState;
}

/** A stable SHA-256 of a model spec (keys sorted), used to recognise the same architecture. */
export function specHash(spec: ModelSpec): string {
  const canonical = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(canonical);
    if (typeof value === 'object' && value !== null) {
      return Object.fromEntries(
        Object.keys(value)
          .sort()
          .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
      );
    }
    return value;
  };
  return createHash('sha256')
    .update(JSON.stringify(canonical(spec)))
    .digest('hex');
}

/** Everything {@link writeCheckpoint} saves. */
export interface CheckpointParts {
  model: tf.LayersModel;
  optimizer: TrainOptimizer;
  state: Omit<CheckpointState, 'format' | 'version' | 'weightShapes' | 'savedAt' | 'specHash'>;
}

/**
 * Writes a checkpoint directory — `model.json`, `weights.bin`, `optimizer.json`, `optimizer.bin`,
 * `state.json` — into a temporary sibling, then swaps it in by rename, so an existing checkpoint
 * is replaced whole or not at all.
 */
export async function writeCheckpoint(dir: string, parts: CheckpointParts): Promise<void> {
  const { model, optimizer } = parts;
  const artifacts = await modelArtifacts(model);
  const slotData = await Promise.all(optimizer.slots.map((s) => s.tensor.data<'float32'>()));
  const total = slotData.reduce((n, d) => n + d.length, 0);
  const packed = new Float32Array(total);
  let offset = 0;
  for (const d of slotData) {
    packed.set(d, offset);
    offset += d.length;
  }
  const optimizerFile: OptimizerFile = {
    format: 'lenet-optimizer',
    version: 1,
    config: optimizer.config,
    iterations: optimizer.iterations,
    slots: optimizer.slots.map((s) => ({ name: s.name, shape: s.tensor.shape })),
  };
  const state: CheckpointState = {
    format: 'lenet-train-checkpoint',
    version: parts.state.position ? 2 : 1,
    ...parts.state,
    weightShapes: model.weights.map((w) => w.shape.map((d) => d ?? -1)),
    ...(parts.state.spec ? { specHash: specHash(parts.state.spec) } : {}),
    savedAt: new Date().toISOString(),
  };
  const metadata = {
    lenet: { normalize: parts.state.normalize, ...(parts.state.spec ? { spec: parts.state.spec } : {}) },
  };
  await writeDirAtomic(dir, async (tmp) => {
    await writeModelFiles(tmp, artifacts, metadata);
    await writeFileAtomic(join(tmp, CHECKPOINT_FILES.optimizerData), new Uint8Array(packed.buffer));
    await writeFileAtomic(
      join(tmp, CHECKPOINT_FILES.optimizer),
      `${JSON.stringify(optimizerFile, null, 2)}\n`,
    );
    await writeFileAtomic(join(tmp, CHECKPOINT_FILES.state), `${JSON.stringify(state, null, 2)}\n`);
  });
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

/** Options of {@link readCheckpoint}. */
export interface ReadCheckpointOptions {
  /** Where a recovery notice goes (default `console.error`). */
  onNotice?: (message: string) => void;
}

/**
 * Finds the checkpoint in `dir`: `dir` itself when it holds `state.json`, else `dir/last` (the
 * layout `modelCheckpoint` writes). A `last/` (or `dir`) left missing by a write killed between
 * its two renames is first put back from its previous version, with a notice.
 */
async function resolveCheckpointDir(dir: string, onNotice: (message: string) => void): Promise<string> {
  if (await exists(join(dir, CHECKPOINT_FILES.state))) return dir;
  if (await exists(join(dir, 'last', CHECKPOINT_FILES.state))) return join(dir, 'last');
  for (const target of [join(dir, 'last'), dir]) {
    const notice = await recoverBetweenRenames(target, CHECKPOINT_FILES.state);
    if (notice !== null) {
      onNotice(notice);
      return target;
    }
  }
  return dir;
}

function checkPosition(state: CheckpointState, stateFile: string): void {
  const p = state.position;
  if (state.version === 1) {
    if (p !== undefined) throw new CheckpointError(stateFile, 'a version 1 checkpoint has no position');
    return;
  }
  if (typeof p !== 'object' || p === null) {
    throw new CheckpointError(stateFile, 'a version 2 checkpoint (saved between batches) needs its position');
  }
  for (const key of ['batch', 'stepsPerEpoch', 'samples', 'correct'] as const) {
    if (!Number.isInteger(p[key]) || p[key] < 0) {
      throw new CheckpointError(
        stateFile,
        `position.${key} must be a non-negative integer, got ${JSON.stringify(p[key])}`,
      );
    }
  }
  if (!Number.isFinite(p.lossSum)) {
    throw new CheckpointError(stateFile, `position.lossSum must be finite, got ${JSON.stringify(p.lossSum)}`);
  }
  if (p.batch > p.stepsPerEpoch) {
    throw new CheckpointError(
      stateFile,
      `position.batch ${p.batch} is past the epoch's ${p.stepsPerEpoch} batches`,
    );
  }
}

async function readJson(file: string): Promise<Record<string, unknown>> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new CheckpointError(file, `unreadable: ${(error as Error).message}`, { cause: error });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CheckpointError(file, 'must hold a JSON object');
  }
  return value as Record<string, unknown>;
}

/**
 * Reads and checks a checkpoint directory; names every missing file in one error. A checkpoint
 * left between the two renames of its write is recovered first (see {@link ReadCheckpointOptions}).
 */
export async function readCheckpoint(
  dir: string,
  options: ReadCheckpointOptions = {},
): Promise<LoadedCheckpoint> {
  const resolved = await resolveCheckpointDir(dir, options.onNotice ?? ((m) => console.error(m)));
  const required = Object.values(CHECKPOINT_FILES);
  const missing: string[] = [];
  for (const name of required) if (!(await exists(join(resolved, name)))) missing.push(name);
  if (missing.length === required.length) {
    throw new CheckpointError(dir, `not a checkpoint directory: none of ${required.join(', ')} found`);
  }
  if (missing.length > 0)
    throw new CheckpointError(resolved, `incomplete checkpoint: missing ${missing.join(', ')}`);

  const stateFile = join(resolved, CHECKPOINT_FILES.state);
  const state = (await readJson(stateFile)) as unknown as CheckpointState;
  if (state.format !== 'lenet-train-checkpoint' || (state.version !== 1 && state.version !== 2)) {
    throw new CheckpointError(
      stateFile,
      `not a lenet training checkpoint (format ${JSON.stringify(state.format)})`,
    );
  }
  for (const key of ['epoch', 'step', 'seed', 'batchSize'] as const) {
    if (!Number.isInteger(state[key]) || state[key] < 0) {
      throw new CheckpointError(
        stateFile,
        `${key} must be a non-negative integer, got ${JSON.stringify(state[key])}`,
      );
    }
  }
  if (!Array.isArray(state.history) || !Array.isArray(state.weightShapes)) {
    throw new CheckpointError(stateFile, 'history and weightShapes must be lists');
  }
  checkPosition(state, stateFile);

  const optFile = join(resolved, CHECKPOINT_FILES.optimizer);
  const optimizer = (await readJson(optFile)) as unknown as OptimizerFile;
  if (optimizer.format !== 'lenet-optimizer' || !Array.isArray(optimizer.slots)) {
    throw new CheckpointError(optFile, 'not a lenet optimizer state file');
  }
  const binFile = join(resolved, CHECKPOINT_FILES.optimizerData);
  const bytes = await readFile(binFile);
  const expected = optimizer.slots.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0) * 4;
  if (bytes.byteLength !== expected) {
    throw new CheckpointError(
      binFile,
      `holds ${bytes.byteLength} bytes, optimizer.json describes ${expected}`,
    );
  }
  const optimizerData = new Float32Array(
    bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
  );

  let model: ModelArtifactsOnDisk;
  try {
    model = await readModelFiles(resolved);
  } catch (error) {
    if (error instanceof ModelFileError)
      throw new CheckpointError(error.file, error.message, { cause: error });
    throw error;
  }
  return { dir: resolved, model, optimizer, optimizerData, state };
}

/**
 * Throws {@link CheckpointError} unless the checkpoint was saved for this architecture (same
 * weight shapes in order, same spec hash when both sides know their spec) and optimizer.
 */
export function checkCheckpointFits(
  ckpt: LoadedCheckpoint,
  model: tf.LayersModel,
  optimizer: TrainOptimizer,
  spec: ModelSpec | undefined,
): void {
  const where = ckpt.dir;
  if (spec && ckpt.state.specHash && specHash(spec) !== ckpt.state.specHash) {
    const saved = ckpt.state.spec?.name ?? 'another spec';
    throw new CheckpointError(
      where,
      `checkpoint was saved for model spec "${saved}", which differs from the spec "${spec.name}" being trained`,
    );
  }
  const shapes = model.weights.map((w) => w.shape.map((d) => d ?? -1));
  const saved = ckpt.model.weightSpecs.map((s) => s.shape);
  if (saved.length !== shapes.length) {
    throw new CheckpointError(
      where,
      `checkpoint holds ${saved.length} weight tensors, model ${model.name} has ${shapes.length}: a different architecture`,
    );
  }
  for (let i = 0; i < shapes.length; i++) {
    if (!tf.util.arraysEqual(saved[i], shapes[i])) {
      throw new CheckpointError(
        where,
        `weight ${i} (${model.weights[i].name}) is [${shapes[i]}] in the model but [${saved[i]}] in the checkpoint: a different architecture`,
      );
    }
  }
  const cfg = ckpt.optimizer.config;
  if (cfg.name !== optimizer.config.name) {
    throw new CheckpointError(
      where,
      `checkpoint was trained with ${cfg.name}, this run asks for ${optimizer.config.name}`,
    );
  }
  const slotShapes = optimizer.slots.map((s) => s.tensor.shape);
  const savedSlots = ckpt.optimizer.slots.map((s) => s.shape);
  if (
    slotShapes.length !== savedSlots.length ||
    slotShapes.some((s, i) => !tf.util.arraysEqual(s, savedSlots[i]))
  ) {
    throw new CheckpointError(
      where,
      `optimizer state does not fit: ${savedSlots.length} saved tensors for ${slotShapes.length} slots (different momentum or model?)`,
    );
  }
}

/** Loads a checked checkpoint's weights into `model` and its state into `optimizer`. */
export function restoreCheckpoint(
  ckpt: LoadedCheckpoint,
  model: tf.LayersModel,
  optimizer: TrainOptimizer,
): void {
  const ordered: tf.Tensor[] = [];
  let byte = 0;
  for (const spec of ckpt.model.weightSpecs) {
    const size = spec.shape.reduce((a, b) => a * b, 1);
    if ((spec.dtype !== 'float32' && spec.dtype !== 'int32') || spec.quantization) {
      tf.dispose(ordered);
      throw new CheckpointError(
        ckpt.dir,
        `weight ${spec.name} has dtype ${spec.dtype}; checkpoints hold float32 or int32`,
      );
    }
    const buffer = ckpt.model.weightData.slice(byte, byte + size * 4);
    ordered.push(
      tf.tensor(
        spec.dtype === 'float32' ? new Float32Array(buffer) : new Int32Array(buffer),
        spec.shape,
        spec.dtype,
      ),
    );
    byte += size * 4;
  }
  model.setWeights(ordered);
  tf.dispose(ordered);
  const values: tf.Tensor[] = [];
  let offset = 0;
  for (const slot of ckpt.optimizer.slots) {
    const size = slot.shape.reduce((a, b) => a * b, 1);
    values.push(tf.tensor(ckpt.optimizerData.subarray(offset, offset + size), slot.shape, 'float32'));
    offset += size;
  }
  optimizer.restore(ckpt.optimizer.iterations, values);
  tf.dispose(values);
}
