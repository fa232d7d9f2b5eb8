import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lenet } from './testing/helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'lenet-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('lenet: arguments', () => {
  it('prints help with exit code 0', async () => {
    const r = await lenet('--help');
    expect(r.code).toBe(0);
    for (const cmd of [
      'train',
      'eval',
      'predict',
      'export',
      'summary',
      'presets',
      'datasets',
      'reproduce',
      'study',
      'bench',
      'worker',
    ]) {
      expect(r.out).toContain(cmd);
    }
  });

  it('has --help on every command', async () => {
    for (const cmd of [
      ['train'],
      ['eval'],
      ['predict'],
      ['export'],
      ['summary'],
      ['presets'],
      ['datasets', 'info'],
    ]) {
      const r = await lenet(...cmd, '--help');
      expect(r.code, cmd.join(' ')).toBe(0);
      expect(r.out).toContain('Usage: lenet');
    }
  });

  it('rejects unknown commands, flags and values with exit code 2 and one line', async () => {
    const cases: [string[], RegExp][] = [
      [['fly'], /unknown command 'fly'/],
      [['train', '--bogus'], /unknown option '--bogus'/],
      [['train', '--epochs', '0'], /--epochs must be a positive integer, got '0'/],
      [['train', '--batch-size', 'x'], /--batch-size must be a positive integer/],
      [['train', '--optimizer', 'adagrad'], /--optimizer must be one of adam, adamw, sgd, rmsprop/],
      [['train', '--dataset', 'imagenet'], /--dataset must be one of/],
      [['train', '--model', 'lenet7'], /unknown model 'lenet7'/],
      [['train', '--label-smoothing', '1'], /--label-smoothing must be in \[0, 1\), got 1/],
      [['train', '--normalize', 'zscore'], /--normalize must be one of unit, standard/],
      [['summary', 'lenet5', '--style', 'fancy'], /--style must be one of keras, torch, both/],
      [['summary', 'lenet5', '--input', '32x32'], /--input must look like HxWxC/],
      [['reproduce', '999'], /unknown report '999'/],
      [['reproduce', '001'], /pass --data <dir>/],
    ];
    for (const [argv, message] of cases) {
      const r = await lenet(...argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err, argv.join(' ')).toMatch(message);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err).not.toContain('    at ');
    }
  });

  it('fails with exit code 2 and a one-line reason for missing files and bad data', async () => {
    const notADataset = join(tmp, 'cifar-bad');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(notADataset);
    writeFileSync(join(notADataset, 'test_batch.bin'), Buffer.alloc(100));
    const cases: [string[], RegExp][] = [
      [['eval', join(tmp, 'nope.onnx')], /nope\.onnx: model file or directory not found/],
      [['predict', join(tmp, 'nope'), 'x.png'], /x\.png: no such file or directory/],
      [['summary', join(tmp, 'missing.json')], /missing\.json: model spec file not found/],
      [['datasets', 'info', join(tmp, 'does-not-exist')], /does-not-exist: cannot read the data directory/],
      [['datasets', 'info', notADataset, '--split', 'test'], /test_batch\.bin.*(record|length|3073)/],
    ];
    for (const [argv, message] of cases) {
      const r = await lenet(...argv);
      // Bad input files exit 2 like bad arguments (issue 14: "2 bad arguments or bad input files").
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err, argv.join(' ')).toMatch(message);
      expect(r.err.trim().split('\n')).toHaveLength(1);
    }
  });
});

it('passes bench arguments to the harness and keeps its exit code 2 for a bad model name', async () => {
  const r = await lenet('bench', '--models', 'nope');
  expect(r.code).toBe(2);
  expect(r.err).toMatch(/unknown model 'nope'/);
});

describe('lenet: models and data', () => {
  it('lists presets with parameter counts', async () => {
    const r = await lenet('presets', '--json');
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.out) as { name: string; params: number; torchParams: number }[];
    const byName = Object.fromEntries(rows.map((x) => [x.name, x]));
    expect(byName.lenet5.params).toBe(61_706);
    expect(byName['torch-bn'].torchParams).toBe(59_734);
    expect(byName['vgg-cifar10'].params).toBe(7_920_518);
  });

  it('prints Keras and torchsummary tables, adapted to another input', async () => {
    const torch = await lenet('summary', 'torch-bn', '--style', 'torch');
    expect(torch.out).toContain('[-1, 6, 28, 28]');
    expect(torch.out).toContain('Total params: 59,734');
    const keras = await lenet('summary', 'lenet5', '--style', 'keras', '--input', '32x32x3');
    expect(keras.code).toBe(0);
    expect(keras.out).toContain('input 28x28x1 -> 32x32x3');
    expect(keras.out).toMatch(/Total params: [\d,]+/);
  });

  it('summarises the bundled real MNIST', async () => {
    const r = await lenet('datasets', 'info', 'mnist', '--split', 'test', '--json');
    expect(r.code).toBe(0);
    const s = JSON.parse(r.out) as { count: number; shape: number[]; classCounts: number[] };
    expect(s.count).toBe(10_000);
    expect(s.shape).toEqual([28, 28, 1]);
    expect(s.classCounts[0]).toBe(980);
  });
});

describe('lenet train: Ctrl-C', () => {
  it('stops after the current batch, keeps the last checkpoint whole and exits 130', async () => {
    const dir = join(tmp, 'interrupted');
    const running = lenet(
      'train',
      '--epochs',
      '50',
      '--limit',
      '1000',
      '--val-fraction',
      '0',
      '--backend',
      'wasm',
      '--no-onnx',
      '--out',
      dir,
      '--json',
    );
    const state = join(dir, 'checkpoints', 'last', 'state.json');
    const started = Date.now();
    while (!existsSync(state) && Date.now() - started < 60_000) await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(state)).toBe(true);
    process.emit('SIGINT');
    const r = await running;
    expect(r.code).toBe(130);
    expect(r.err).toContain('interrupted: stopping after this batch');
    const result = JSON.parse(r.out) as { epochs: number; stopped: { reason: string } };
    expect(result.stopped.reason).toBe('interrupted (Ctrl-C)');
    expect(result.epochs).toBeLessThan(50);
    const { readCheckpoint } = await import('@lenet/train');
    const checkpoint = await readCheckpoint(join(dir, 'checkpoints', 'last'));
    expect(checkpoint.state.epoch).toBeGreaterThanOrEqual(1);
    expect(process.listenerCount('SIGINT')).toBe(0);
  });
});

describe('lenet: train, eval, export, predict end to end on real MNIST', () => {
  const run = join(tmp, 'run');

  it('trains LeNet-5 on a subset and fills the run directory', async () => {
    const r = await lenet(
      'train',
      '--model',
      'lenet5',
      '--epochs',
      '1',
      '--limit',
      '4000',
      '--batch-size',
      '64',
      '--backend',
      'wasm',
      '--out',
      run,
      '--json',
    );
    expect(r.err).not.toMatch(/lenet: /);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.out) as { testAccuracy: number; onnxTestAccuracy: number };
    expect(result.testAccuracy).toBeGreaterThan(0.85);
    expect(Math.abs(result.onnxTestAccuracy - result.testAccuracy)).toBeLessThanOrEqual(0.0005);
    for (const f of [
      'spec.json',
      'history.json',
      'history.csv',
      'model/model.json',
      'model.onnx',
      'checkpoints/last/state.json',
      'curves.svg',
      'curves.png',
      'confusion.png',
      'samples.png',
      'report.md',
      'result.json',
    ]) {
      expect(existsSync(join(run, f)), f).toBe(true);
    }
    expect(readFileSync(join(run, 'report.md'), 'utf8')).toContain('![confusion matrix](confusion.png)');
    // Trained with standardised inputs: the statistics travel with the model for eval and predict.
    const meta = JSON.parse(readFileSync(join(run, 'model/model.json'), 'utf8')) as {
      userDefinedMetadata?: { normalize?: { mean: number[]; std: number[] } };
    };
    expect(meta.userDefinedMetadata?.normalize?.mean[0]).toBeCloseTo(0.1307, 2);
  });

  it('evaluates the TensorFlow.js model and the ONNX file to the same accuracy', async () => {
    const tfjs = await lenet('eval', run, '--backend', 'wasm', '--json');
    const onnx = await lenet('eval', join(run, 'model.onnx'), '--json');
    expect(tfjs.code).toBe(0);
    expect(onnx.code).toBe(0);
    const a = JSON.parse(tfjs.out) as { accuracy: number; count: number };
    const b = JSON.parse(onnx.out) as { accuracy: number };
    expect(a.count).toBe(10_000);
    expect(Math.abs(a.accuracy - b.accuracy)).toBeLessThanOrEqual(0.0005);
  });

  it('exports again with options and predicts PNG files with top-3', async () => {
    const out = join(tmp, 'nhwc.onnx');
    const e = await lenet('export', run, '--layout', 'NHWC', '--out', out);
    expect(e.code).toBe(0);
    expect(existsSync(out)).toBe(true);

    const sharp = (await import('sharp')).default;
    const { loadMnist } = await import('@lenet/datasets');
    const test = await loadMnist({ split: 'test' });
    const files: string[] = [];
    for (let i = 0; i < 3; i++) {
      const f = join(tmp, `digit-${i}-label-${test.labels[i]}.png`);
      await sharp(Buffer.from(test.images.subarray(i * 784, (i + 1) * 784)), {
        raw: { width: 28, height: 28, channels: 1 },
      })
        .png()
        .toFile(f);
      files.push(f);
    }
    const r = await lenet('predict', out, ...files, '--json');
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.out) as { file: string; label: string; top: { probability: number }[] }[];
    expect(rows).toHaveLength(3);
    for (const [i, row] of rows.entries()) {
      expect(row.top).toHaveLength(3);
      expect(row.top[0].probability).toBeGreaterThanOrEqual(row.top[1].probability);
      expect(row.label).toBe(String(test.labels[i]));
    }
    const text = await lenet('predict', run, files[0], '--backend', 'wasm');
    expect(text.out).toMatch(/digit-0-label-7\.png: 7 +\(top-3: 7 \d+\.\d%/);

    writeFileSync(join(tmp, 'broken.png'), 'not an image');
    const bad = await lenet('predict', out, join(tmp, 'broken.png'));
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/broken\.png: cannot decode image/);
  });
});

describe('lenet reproduce', () => {
  it('rejects a bad override with exit code 2 before training', async () => {
    const r = await lenet('reproduce', '000', '--epochs', '0');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--epochs must be a positive integer, got '0'/);
  });

  it("trains the report's recipe in-process and prints our figure beside the report's", async () => {
    const parent = join(tmp, 'reproduce');
    const r = await lenet(
      'reproduce',
      '000',
      '--epochs',
      '1',
      '--limit',
      '500',
      '--backend',
      'wasm',
      '--out',
      parent,
    );
    expect(r.err).not.toMatch(/lenet: /);
    expect(r.code).toBe(0);
    const dir = join(parent, 'reproduce-000-torch-bn');
    const result = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as {
      model: string;
      epochs: number;
      testAccuracy: number;
    };
    expect(result.model).toBe('torch-bn');
    expect(result.epochs).toBe(1);
    expect(r.out).toContain('Report 000: PyTorch 3 conv + 3 FC with BatchNorm and Dropout on MNIST');
    expect(r.out).toMatch(
      new RegExp(`torch-bn +${(result.testAccuracy * 100).toFixed(2)}% +98\\.17% test, 59,734 params`),
    );
    expect(readFileSync(join(dir, 'report.md'), 'utf8')).toContain('"name":"report-000-torch-bn"');
  });
});
