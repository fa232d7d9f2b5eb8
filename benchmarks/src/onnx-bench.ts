/**
 * onnxruntime-node inference against TensorFlow.js inference of the same model, in one run:
 * samples/s at batch 1, 64 and 256 with 1 and 2 intra-op threads (mean latency, tinybench, as
 * the harness's cells), the ratio of each to TensorFlow.js on the best backend present, and
 * latency p50/p99. With `verifyDefaults`
 * it also measures the session settings `OnnxClassifier` defaults to against their alternatives.
 * Run directly with `node dist/onnx-bench.js [preset]` (after building the packages).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { useBackend } from '@lenet/backend';
import { getPreset } from '@lenet/models';
import { buildModel } from '@lenet/models/tf';
import { type ClassifierOptions, exportOnnx, OnnxClassifier } from '@lenet/onnx';
import { type Measured, measure, samplesPerSecond } from './measure.js';
import type { Timing } from './profiles.js';
import * as tf from './tfjs.js';

/** Options of {@link runOnnxBenchmarks}. */
export interface OnnxBenchOptions {
  /** Preset to export and run. Default `'lenet5'`. */
  preset?: string;
  /** Batch sizes. Default [1, 64, 256]. */
  batches?: number[];
  /** Intra-op thread counts for onnxruntime. Default [1, 2]. */
  threads?: number[];
  /** Minimum measuring time per task, in ms, when no `timing` is given. Default 1500. */
  timeMs?: number;
  /** How each configuration is timed (overrides `timeMs`): the harness passes its inference timing. */
  timing?: Timing;
  /** Also measure TensorFlow.js `predict` at every batch size. Default true. */
  tfjs?: boolean;
  /**
   * onnxruntime configurations not to measure (the harness's inference table already has the
   * default one: one measurement, one number).
   */
  skip?: (threads: number, batch: number) => boolean;
  /** Also measure the alternatives to the default session settings. Default false. */
  verifyDefaults?: boolean;
}

/** One measured configuration (tinybench: mean latency and its 95 % margin of error). */
export interface OnnxBenchRow {
  runtime: 'onnxruntime' | 'tfjs';
  /** For onnxruntime: the session settings; for tfjs: the backend. */
  config: string;
  /** onnxruntime intra-op threads (undefined for tfjs). */
  threads?: number;
  batch: number;
  /** From the mean latency of one call. */
  samplesPerSec: number;
  /** Relative margin of error of the mean, percent (95 %). */
  rme: number;
  p50Ms: number;
  p99Ms: number;
  iterations: number;
}

/** Everything one run measured. */
export interface OnnxBenchReport {
  preset: string;
  machine: string;
  /** The TensorFlow.js backend `predict` ran on (when `tfjs` was measured). */
  tfjsBackend?: string;
  rows: OnnxBenchRow[];
  /** 1-minute load average before and after the run (2 cores: above ~2 means contention). */
  load: [number, number];
  /** onnxruntime samples/s ÷ TensorFlow.js samples/s at the same batch (both from the mean), per onnxruntime config. */
  ratios: { config: string; batch: number; ratio: number }[];
  /** Settings comparisons (only with `verifyDefaults`). */
  defaults: OnnxBenchRow[];
}

/** A table row from one measurement of `batch` images per call. */
function throughputRow(
  runtime: OnnxBenchRow['runtime'],
  config: string,
  batch: number,
  m: Measured,
  threads?: number,
): OnnxBenchRow {
  return {
    runtime,
    config,
    ...(threads !== undefined ? { threads } : {}),
    batch,
    samplesPerSec: samplesPerSecond(batch, m.latencyMs.mean),
    rme: m.rme,
    p50Ms: m.latencyMs.p50,
    p99Ms: m.latencyMs.p99,
    iterations: m.iterations,
  };
}

function describeSettings(o: ClassifierOptions): string {
  return `threads=${o.threads ?? 1} spin=${o.spinning ? 'on' : 'off'} opt=${o.graphOptimization ?? 'all'} ${o.executionMode ?? 'sequential'}`;
}

async function ortRow(
  path: string,
  settings: ClassifierOptions,
  batch: number,
  input: Float32Array,
  dims: number[],
  timing: Timing,
): Promise<OnnxBenchRow> {
  const c = await OnnxClassifier.load(path, { ...settings, executionProviders: ['cpu'], batchSize: batch });
  try {
    const x = input.subarray(0, batch * dims[1] * dims[2] * dims[3]);
    const shape = [batch, dims[1], dims[2], dims[3]];
    const config = describeSettings(settings);
    const m = await measure(
      `onnxruntime ${config} b${batch}`,
      async () => {
        await c.predict(x, shape);
      },
      timing,
    );
    return throughputRow('onnxruntime', config, batch, m, settings.threads ?? 1);
  } finally {
    await c.dispose();
  }
}

/** The machine the figures come from. */
export function machineDescription(): string {
  return `${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} cores, Node ${process.version}`;
}

/** Runs the comparison; see the module comment. */
export async function runOnnxBenchmarks(options: OnnxBenchOptions = {}): Promise<OnnxBenchReport> {
  const presetName = options.preset ?? 'lenet5';
  const batches = options.batches ?? [1, 64, 256];
  const threads = options.threads ?? [1, 2];
  const timing = options.timing ?? {
    iterations: 20,
    timeMs: options.timeMs ?? 1500,
    warmupIterations: 5,
    warmupTimeMs: 100,
  };
  const skip = options.skip ?? (() => false);
  const loadBefore = loadavg()[0];
  const backend = options.tfjs === false ? undefined : await useBackend('auto');
  const { spec } = getPreset(presetName);
  const model = buildModel(spec, { seed: 1 });
  const dir = await mkdtemp(join(tmpdir(), 'lenet-onnx-bench-'));
  try {
    const path = join(dir, `${presetName}.onnx`);
    await exportOnnx(model, path);
    const [h, w, c] = spec.input;
    const maxBatch = Math.max(...batches);
    const input = new Float32Array(maxBatch * h * w * c);
    for (let i = 0; i < input.length; i++) input[i] = ((i * 2654435761) % 1000) / 1000;
    const rows: OnnxBenchRow[] = [];

    for (const batch of backend ? batches : []) {
      const x = tf.tensor4d(input.subarray(0, batch * h * w * c), [batch, h, w, c]);
      try {
        const m = await measure(
          `tfjs ${backend!.name} b${batch}`,
          async () => {
            const y = model.predict(x) as tf.Tensor;
            await y.data();
            y.dispose();
          },
          timing,
        );
        rows.push(throughputRow('tfjs', backend!.name, batch, m));
      } finally {
        x.dispose();
      }
    }
    for (const t of threads) {
      for (const batch of batches) {
        if (skip(t, batch)) continue;
        rows.push(await ortRow(path, { threads: t }, batch, input, [maxBatch, c, h, w], timing));
      }
    }
    const ratios = rows.flatMap((r) => {
      const base = rows.find((b) => b.runtime === 'tfjs' && b.batch === r.batch);
      return r.runtime === 'onnxruntime' && base
        ? [{ config: r.config, batch: r.batch, ratio: r.samplesPerSec / base.samplesPerSec }]
        : [];
    });

    const defaults: OnnxBenchRow[] = [];
    if (options.verifyDefaults) {
      const alternatives: ClassifierOptions[] = [
        { threads: 1 },
        { threads: 2, spinning: false },
        { threads: 2, spinning: true },
        { threads: 1, graphOptimization: 'basic' },
        { threads: 1, graphOptimization: 'disabled' },
        { threads: 1, executionMode: 'parallel' },
      ];
      for (const batch of [1, 64]) {
        for (const settings of alternatives)
          defaults.push(await ortRow(path, settings, batch, input, [maxBatch, c, h, w], timing));
      }
    }
    return {
      preset: presetName,
      machine: machineDescription(),
      ...(backend ? { tfjsBackend: backend.name } : {}),
      load: [loadBefore, loadavg()[0]],
      rows,
      ratios,
      defaults,
    };
  } finally {
    model.dispose();
    await rm(dir, { recursive: true, force: true });
  }
}

function table(rows: OnnxBenchRow[]): string {
  const lines = [
    '| runtime | config | batch | samples/s (mean ± 95 % margin) | p50 ms | p99 ms |',
    '| --- | --- | ---: | ---: | ---: | ---: |',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.runtime} | ${r.config} | ${r.batch} | ${r.samplesPerSec.toFixed(0)} ±${r.rme.toFixed(0)}% | ${r.p50Ms.toFixed(3)} | ${r.p99Ms.toFixed(3)} |`,
    );
  }
  return lines.join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const report = await runOnnxBenchmarks({ preset: process.argv[2], verifyDefaults: true });
  console.log(
    `${report.preset} on ${report.machine}; TensorFlow.js backend: ${report.tfjsBackend ?? 'not measured'}; load ${report.load.map((l) => l.toFixed(1)).join(' → ')}\n`,
  );
  console.log(table(report.rows));
  console.log('\n| onnxruntime config | batch | ORT / tfjs (mean) |\n| --- | ---: | ---: |');
  for (const r of report.ratios) console.log(`| ${r.config} | ${r.batch} | ${r.ratio.toFixed(2)}x |`);
  console.log('\nSession settings (onnxruntime only):\n');
  console.log(table(report.defaults));
}
