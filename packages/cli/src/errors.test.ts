import { BackendError } from '@lenet/backend';
import { isLenetError, LenetError } from '@lenet/common';
import { DatasetError } from '@lenet/datasets';
import { MetricsError } from '@lenet/metrics';
import { SpecError } from '@lenet/models';
import { ModelFileError } from '@lenet/models/tf';
import { OnnxError } from '@lenet/onnx';
import { CheckpointError, TrainError } from '@lenet/train';
import { describe, expect, it } from 'vitest';
import { BadInputError, CliFailure, exitCodeOf, InterruptedError, UsageError } from './errors.js';
import { RunDirLockedError } from './run-lock.js';

describe('one error base', () => {
  it('gives every package error a stable code and kind, and maps it to one exit code', () => {
    const cases: [Error, string, 'input' | 'failure', number][] = [
      [new UsageError('--epochs must be a positive integer'), 'USAGE', 'input', 2],
      [new CliFailure('x.png: no such file or directory'), 'CLI_FAILED', 'failure', 1],
      // Bad input files are bad input like bad arguments (issue 14): exit 2.
      [new DatasetError('data/x', 'truncated'), 'DATASET_INVALID', 'input', 2],
      [new SpecError('bad', { file: 'spec.json' }), 'SPEC_INVALID', 'input', 2],
      [new SpecError('output height 0', { specName: 'lenet5' }), 'SPEC_INVALID', 'input', 2],
      [new MetricsError('argmax', 'bad'), 'METRICS_INPUT', 'input', 2],
      [
        new BackendError("backend 'tensorflow' is not available", 'tensorflow', 'not installed'),
        'BACKEND_UNAVAILABLE',
        'input',
        2,
      ],
      [new BackendError('Tanh: input x is required', 'wasm'), 'BACKEND_KERNEL', 'failure', 1],
      [new TrainError('batchSize', 'batchSize must be a positive integer'), 'TRAIN_INVALID', 'input', 2],
      [new TrainError('workers', 'worker 1 crashed', { kind: 'failure' }), 'TRAIN_FAILED', 'failure', 1],
      [new ModelFileError('m/model.json', 'not valid JSON'), 'MODEL_FILE_INVALID', 'input', 2],
      [new CheckpointError('ckpt', 'incomplete checkpoint'), 'CHECKPOINT_INVALID', 'input', 2],
      [new OnnxError('INVALID_OPTION', 'opset must be ≥ 13'), 'INVALID_OPTION', 'input', 2],
      [new OnnxError('INVALID_MODEL_FILE', 'm.onnx: not an ONNX model'), 'INVALID_MODEL_FILE', 'input', 2],
      [new BadInputError('x.png: no such file or directory'), 'CLI_BAD_INPUT', 'input', 2],
      [new RunDirLockedError('runs/a is in use by another run'), 'RUN_DIR_LOCKED', 'input', 2],
      [new InterruptedError('interrupted after epoch 2'), 'INTERRUPTED', 'failure', 130],
      [new OnnxError('SESSION_FAILED', 'onnxruntime failed'), 'SESSION_FAILED', 'failure', 1],
    ];
    for (const [error, code, kind, exit] of cases) {
      expect(error, error.name).toBeInstanceOf(LenetError);
      expect(isLenetError(error)).toBe(true);
      const { code: gotCode, kind: gotKind } = error as LenetError;
      expect({ code: gotCode, kind: gotKind }, error.name).toEqual({ code, kind });
      expect(exitCodeOf(error), `${error.name} ${code}`).toBe(exit);
    }
  });

  it('keeps each class its own name and message', () => {
    expect(new CheckpointError('ckpt', 'incomplete').name).toBe('CheckpointError');
    expect(new CheckpointError('ckpt', 'incomplete')).toBeInstanceOf(ModelFileError);
    expect(new DatasetError('f', 'r').message).toBe('f: r');
    expect(new BackendError('m').name).toBe('BackendError');
  });

  it('exits 1 for anything that is not a LenetError', () => {
    expect(exitCodeOf(new Error('boom'))).toBe(1);
    expect(exitCodeOf('a string')).toBe(1);
  });
});
