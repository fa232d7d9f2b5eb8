import { describe, expect, it } from 'vitest';
import { okCell } from '../testing/fixtures.js';
import type { CellResult } from '../types.js';
import { type Phase, runPhasesByModel } from './phase.js';

function recorder(name: string, calls: string[], cells: CellResult[]): Phase {
  return {
    async start() {
      calls.push(`${name}:start`);
    },
    async model(model) {
      calls.push(`${name}:${model}`);
      cells.push(okCell('infer', model, 'wasm', 1, 100));
    },
    finish() {
      calls.push(`${name}:finish`);
    },
  };
}

describe('runPhasesByModel', () => {
  it("starts every phase, then runs each model's cells in every phase before the next model, then finishes", async () => {
    const calls: string[] = [];
    const run = {
      plan: { models: ['lenet5', 'mlp2'] },
      log: () => {},
      cells: [] as CellResult[],
      notes: [] as string[],
    };
    await runPhasesByModel(run, [recorder('tfjs', calls, run.cells), recorder('pytorch', calls, run.cells)]);
    expect(calls).toEqual([
      'tfjs:start',
      'pytorch:start',
      'tfjs:lenet5',
      'pytorch:lenet5',
      'tfjs:mlp2',
      'pytorch:mlp2',
      'tfjs:finish',
      'pytorch:finish',
    ]);
    expect(run.notes).toEqual([expect.stringMatching(/^cells ran model by model/)]);
  });

  it('adds no order note for a single model or when no cell was measured', async () => {
    const one = {
      plan: { models: ['lenet5'] },
      log: () => {},
      cells: [] as CellResult[],
      notes: [] as string[],
    };
    await runPhasesByModel(one, [recorder('tfjs', [], one.cells)]);
    expect(one.notes).toEqual([]);
    const none = {
      plan: { models: ['lenet5', 'mlp2'] },
      log: () => {},
      cells: [] as CellResult[],
      notes: [] as string[],
    };
    await runPhasesByModel(none, []);
    expect(none.notes).toEqual([]);
  });

  it('finishes every phase also when a model fails, so that none keeps a process running', async () => {
    const calls: string[] = [];
    const run = {
      plan: { models: ['lenet5'] },
      log: () => {},
      cells: [] as CellResult[],
      notes: [] as string[],
    };
    const failing: Phase = {
      ...recorder('tfjs', calls, run.cells),
      async model() {
        throw new Error('out of memory');
      },
    };
    await expect(runPhasesByModel(run, [failing, recorder('pytorch', calls, run.cells)])).rejects.toThrow(
      'out of memory',
    );
    expect(calls).toEqual(['tfjs:start', 'pytorch:start', 'tfjs:finish', 'pytorch:finish']);
  });
});
