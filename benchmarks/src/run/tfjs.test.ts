import { describe, expect, it } from 'vitest';
import { okCell } from '../testing/fixtures.js';
import type { CellResult } from '../types.js';
import { inferencePathNote } from './tfjs.js';

const noted = (model: string, batch: number, note: string): CellResult => ({
  ...okCell('infer', model, 'wasm', batch, 1000),
  note,
});

describe('inferencePathNote', () => {
  it("names, once per model, the forward pass each model's inference cells ran on a backend", () => {
    const run = {
      cells: [
        noted('lenet5', 1, 'compiled'),
        noted('lenet5', 64, 'compiled'),
        noted('mlp2', 64, 'compiled'),
        noted('torch-bn', 64, 'model.predict (not compiled: X)'),
        { ...noted('keras-bn', 64, 'compiled'), backend: 'cpu' as const },
      ],
      notes: [] as string[],
    };
    inferencePathNote(run, 'wasm');
    expect(run.notes).toEqual([
      'wasm inference cells: compiled: lenet5, mlp2; model.predict (not compiled: X): torch-bn',
    ]);
    inferencePathNote(run, 'tensorflow');
    expect(run.notes).toHaveLength(1);
  });
});
