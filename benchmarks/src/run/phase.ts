import type { CellResult } from '../types.js';
import type { Log } from './context.js';

/**
 * One family of columns in a run (the TensorFlow.js backends, `fit`, onnxruntime, PyTorch): set
 * up once, then its cells one model at a time, then its notes. {@link runPhasesByModel} runs every
 * phase's cells of a model before the next model's, so that a ratio between two columns compares
 * measurements taken minutes apart rather than a whole phase apart: this machine's speed drifts
 * by up to 1.7× over tens of minutes, and a phase of the full profile takes 10–20 minutes.
 */
export interface Phase {
  /** Once, before any cell: what it runs on (the environment lines), or its cells as skipped. */
  start(): Promise<void>;
  /** Its cells of one model of the plan. */
  model(model: string): Promise<void>;
  /** Once, after the last model: its run notes (and what it started, closed). */
  finish(): void | Promise<void>;
}

/** Starts every phase, runs the cells model by model (each phase in turn), then finishes them. */
export async function runPhasesByModel(
  run: { plan: { models: readonly string[] }; log: Log; cells: readonly CellResult[]; notes: string[] },
  phases: readonly Phase[],
): Promise<void> {
  const models = run.plan.models;
  try {
    for (const phase of phases) await phase.start();
    for (const [i, model] of models.entries()) {
      if (models.length > 1) run.log(`${model} (model ${i + 1} of ${models.length})`);
      for (const phase of phases) await phase.model(model);
    }
  } finally {
    // Also after a failure: a phase may hold a process (PyTorch's server) that would keep Node alive.
    for (const phase of phases) await phase.finish();
  }
  if (models.length > 1 && run.cells.some((c) => c.status === 'ok')) {
    run.notes.push(
      "cells ran model by model: each model's TensorFlow.js, `fit`, onnxruntime and PyTorch cells one after another, so that a ratio compares measurements minutes apart (this machine's speed can drift between phases of a run)",
    );
  }
}
