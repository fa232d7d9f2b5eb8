import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lenet } from './testing/helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'lenet-cli-ux-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('lenet without a command', () => {
  it('prints the usage on stderr and exits 2; `lenet help` exits 0', async () => {
    for (const argv of [[], ['datasets']]) {
      const r = await lenet(...argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err, argv.join(' ')).toMatch(/^Usage: lenet/);
      expect(r.out).toBe('');
    }
    const help = await lenet('help');
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/^Usage: lenet/);
  });
});

describe('lenet datasets export-images', () => {
  it('writes <index>-<label>.png files of the bundled MNIST test set', async () => {
    const dir = join(tmp, 'digits');
    const r = await lenet('datasets', 'export-images', 'mnist', '--count', '3', '--out', dir);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toBe(
      `wrote 3 mnist test images to ${dir}: 00000-7.png … 00002-1.png (<index>-<label>.png)\n`,
    );
    expect(readdirSync(dir).sort()).toEqual(['00000-7.png', '00001-2.png', '00002-1.png']);
    const one = await lenet(
      'datasets',
      'export-images',
      'mnist',
      '--start',
      '9999',
      '--count',
      '1',
      '--out',
      dir,
      '--json',
    );
    expect(one.code).toBe(0);
    expect(JSON.parse(one.out)).toEqual([
      { file: join(dir, '09999-6.png'), index: 9999, label: 6, className: '6' },
    ]);
  });

  it('refuses a range past the end, an image folder and a missing --data with exit code 2', async () => {
    const cases: [string[], RegExp][] = [
      [
        ['mnist', '--start', '9995', '--count', '10'],
        /--start 9995 --count 10 runs past the 10,000 images of mnist test/,
      ],
      [['folder'], /<name> must be one of mnist, fashion-mnist, kmnist, cifar10, cifar100/],
      [['cifar10'], /--data <dir> is required for --dataset cifar10/],
      [['mnist', '--count', '0'], /--count must be a positive integer/],
    ];
    for (const [argv, message] of cases) {
      const r = await lenet('datasets', 'export-images', ...argv, '--out', join(tmp, 'never'));
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err, argv.join(' ')).toMatch(message);
    }
    expect(existsSync(join(tmp, 'never'))).toBe(false);
  });
});

describe('a trained model: export beside the run, predict exported and inverted digits', () => {
  const run = join(tmp, 'run');

  it('says "after 1 epoch"', async () => {
    const r = await lenet(
      'train',
      '--epochs',
      '1',
      '--limit',
      '3000',
      '--backend',
      'wasm',
      '--no-onnx',
      '--val-fraction',
      '0',
      '--out',
      run,
    );
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/test accuracy [\d.]+% \(10,000 images\) after 1 epoch in /);
  });

  it('export writes <run>/model.onnx for a run or its model/ folder, ./<name>.onnx otherwise', async () => {
    const fromModelDir = await lenet('export', join(run, 'model'));
    expect(fromModelDir.code, fromModelDir.err).toBe(0);
    expect(existsSync(join(run, 'model.onnx'))).toBe(true);
    expect(existsSync(join(run, 'model', 'model.onnx'))).toBe(false);
    rmSync(join(run, 'model.onnx'));
    expect((await lenet('export', run)).code).toBe(0);
    expect(existsSync(join(run, 'model.onnx'))).toBe(true);

    const elsewhere = join(tmp, 'models', 'my-net');
    cpSync(join(run, 'model'), elsewhere, { recursive: true });
    const cwd = process.cwd();
    const here = join(tmp, 'here');
    mkdirSync(here);
    process.chdir(here);
    try {
      const r = await lenet('export', elsewhere);
      expect(r.code, r.err).toBe(0);
      expect(r.out).toMatch(/^wrote my-net\.onnx \([\d,]+ bytes, opset 17, NCHW\)\n$/);
      expect(readdirSync(here)).toEqual(['my-net.onnx']);
      expect(existsSync(join(elsewhere, 'model.onnx'))).toBe(false);
    } finally {
      process.chdir(cwd);
    }
  });

  it('export takes --out; --output still works with a notice', async () => {
    const out = join(tmp, 'out.onnx');
    const r = await lenet('export', run, '--out', out);
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    expect(existsSync(out)).toBe(true);
    const old = join(tmp, 'old.onnx');
    const deprecated = await lenet('export', run, '--output', old);
    expect(deprecated.code).toBe(0);
    expect(deprecated.err).toBe('lenet: --output is deprecated; use --out\n');
    expect(existsSync(old)).toBe(true);
    const both = await lenet('export', run, '--output', old, '--out', out);
    expect(both.code).toBe(2);
    const help = await lenet('export', '--help');
    expect(help.out).toContain('--out <file.onnx>');
    expect(help.out).not.toContain('--output');
    const bad = await lenet('export', run, '--out', join(tmp, 'x.pb'));
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--out must end in \.onnx/);
  });

  it('predicts exported MNIST digits, and their black-on-white negatives the same with --invert auto', async () => {
    const digits = join(tmp, 'twenty');
    expect((await lenet('datasets', 'export-images', 'mnist', '--count', '20', '--out', digits)).code).toBe(
      0,
    );
    const { encodePng, invertPixels, decodeImageFile } = await import('@lenet/datasets');
    const negatives = join(tmp, 'negatives');
    mkdirSync(negatives);
    for (const name of readdirSync(digits)) {
      const pixels = await decodeImageFile(join(digits, name), { size: 28, channels: 1 });
      writeFileSync(
        join(negatives, name),
        await encodePng(invertPixels(pixels), { height: 28, width: 28, channels: 1 }),
      );
    }
    type Row = { file: string; label: string; inverted: boolean; top: { probability: number }[] };
    const predict = async (...argv: string[]) => {
      const r = await lenet('predict', join(run, 'model.onnx'), ...argv, '--json');
      expect(r.code, r.err).toBe(0);
      return JSON.parse(r.out) as Row[];
    };
    const original = await predict(digits);
    const right = original.filter((row) => row.file.endsWith(`-${row.label}.png`)).length;
    expect(right).toBeGreaterThanOrEqual(17);
    expect(original.every((row) => !row.inverted)).toBe(true);

    const auto = await predict(negatives);
    expect(auto.every((row) => row.inverted)).toBe(true);
    expect(auto.map((row) => row.top)).toEqual(original.map((row) => row.top));
    const never = await predict(negatives, '--invert', 'no');
    expect(never.every((row) => !row.inverted)).toBe(true);
    expect(never.filter((row, i) => row.label === original[i].label).length).toBeLessThan(12);

    const text = await lenet('predict', run, join(negatives, '00000-7.png'), '--backend', 'wasm');
    expect(text.out).toMatch(/00000-7\.png: 7 +\(top-3: 7 [\d.]+%.*\) {2}\[inverted\]\n$/);
    const bad = await lenet('predict', run, digits, '--invert', 'maybe');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--invert must be one of auto, yes, no/);
  });
});

describe('long runs honour NO_COLOR', () => {
  it('the progress bar drawn on a TTY writes no colour codes (only cursor movement)', async () => {
    const { progressBar } = await import('@lenet/train');
    let written = '';
    const stream = { isTTY: true, columns: 100, write: (t: string) => (written += t) };
    const bar = progressBar({ stream, mode: 'bar', refreshSeconds: 0 });
    const ctx = {
      epochs: 1,
      epoch: 0,
      stepsPerEpoch: 3,
      stopReason: null,
      runningMetrics: async () => ({ loss: 0.5, accuracy: 0.9, samples: 64, seconds: 0.01 }),
    } as unknown as import('@lenet/train').TrainContext;
    const previous = process.env.NO_COLOR;
    process.env.NO_COLOR = '1';
    try {
      await bar.onEpochBegin?.(0, ctx);
      for (let b = 0; b < 3; b++) await bar.onBatchEnd?.(b, { batch: b, size: 64 } as never, ctx);
      await bar.onEpochEnd?.(
        0,
        { epoch: 0, loss: 0.5, accuracy: 0.9, lr: 1e-3, samplesPerSecond: 6400, epochSeconds: 1 } as never,
        ctx,
      );
      await bar.onTrainEnd?.(ctx);
    } finally {
      if (previous === undefined) delete process.env.NO_COLOR;
      else process.env.NO_COLOR = previous;
    }
    const esc = String.fromCharCode(27);
    expect(written).toContain('epoch 1/1');
    // Drawn in place (cursor movement is ESC [ … G or K), but no Select Graphic Rendition
    // (colour, bold: ESC [ … m).
    expect(written).toContain(`${esc}[`);
    expect(written).not.toMatch(new RegExp(`${esc}\\[[\\d;]*m`));
  });
});
