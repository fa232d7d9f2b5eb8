import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasMachinePath } from '@lenet/common';
import { countMarkItems } from '@lenet/metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeStudyReport } from './study-report.js';
import { summarizeStudy } from './summary.js';
import { done, results, study } from './testing/study-results.js';

describe('writeStudyReport', () => {
  let dir: string;
  let files: string[];
  let md: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lenet-study-report-'));
    ({ files } = await writeStudyReport(join(dir, 'run'), study, results, {
      wallSeconds: 754.2,
      command: `lenet study run ${join(dir, 'studies', 'bn-test.json')} --workers 2`,
    }));
    md = await readFile(join(dir, 'run', 'study.md'), 'utf8');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('writes results.json, study.md and both plots as SVG and PNG, and nothing else', async () => {
    const names = ['accuracy.png', 'accuracy.svg', 'curves.png', 'curves.svg', 'results.json', 'study.md'];
    expect([...files].map((f) => f.slice(join(dir, 'run').length + 1)).sort()).toEqual(names);
    expect((await readdir(join(dir, 'run'))).sort()).toEqual(names);
    // PNG signature, then the IHDR chunk: width and height as big-endian 32-bit integers
    const png = await readFile(join(dir, 'run', 'accuracy.png'));
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([640, 360]);
  });

  it('keeps the definition, the summary and every job in results.json', async () => {
    const data = JSON.parse(await readFile(join(dir, 'run', 'results.json'), 'utf8'));
    expect(data.version).toBe(1);
    expect(data.study).toEqual(study);
    expect(data.wallSeconds).toBe(754.2);
    expect(data.command).toContain('--workers 2');
    expect(data.summary).toEqual(JSON.parse(JSON.stringify(summarizeStudy(study, results))));
    expect(data.jobs).toHaveLength(results.length);
    // ordered by arm (as the study lists them), then seed; each job as it came
    expect(data.jobs.map((j: { arm: string; seed: number }) => `${j.arm}/${j.seed}`).slice(0, 7)).toEqual([
      'with-bn/1',
      'with-bn/2',
      'with-bn/3',
      'with-bn/4',
      'with-bn/5',
      'no-bn/1',
      'no-bn/2',
    ]);
    const failed = data.jobs.find((j: { status: string }) => j.status === 'failed');
    expect(failed).toEqual(results.find((r) => r.status === 'failed'));
    expect(data.jobs[0]).toEqual(results[0]);
  });

  it('answers the question in study.md: setup, arms, comparisons, the test, machines, failures', () => {
    expect(md).toMatch(
      /^# Study `bn-test`\n\nDoes BatchNorm help LeNet-5 on MNIST\?\n\nAnswers \*\*report-002\*\*: Is BatchNorm worth it\?/,
    );
    expect(md).toContain('| data | mnist: first 1,000 training images, first 500 test images |');
    expect(md).toContain('| budget | 2 epochs per job |');
    expect(md).toContain('| seeds | 1, 2, 3, 4, 5 (5 seeds per arm; arms are paired by seed) |');
    expect(md).toContain('| jobs | 15 done, 1 failed, 4 missing, of 20 (4 arms × 5 seeds) |');
    expect(md).toContain('| wall time | 12 min 34 s |');
    expect(md).toContain('| command | `lenet study run bn-test.json --workers 2` |');
    // arms: n, mean ± sd and the 95 % CI in %
    expect(md).toContain('| with-bn | `lenet5-bn` | 5 | 0 | 5 | 97.20 ± 0.57 | 96.49 to 97.91 | 0.0280 |');
    expect(md).toContain('| no-bn | `lenet5` | 4 | 1 | 4 | 92.53 ± 1.28 | 90.49 to 94.56 | 0.0747 |');
    expect(md).toContain(
      '| tiny | `lenet1` | 1 | 0 | 1 | 95.00 | none (one value: no spread, so no confidence interval) | 0.0500 |',
    );
    expect(md).toContain('- **with-bn**: LeNet-5 with BatchNorm');
    // comparisons
    expect(md).toContain(
      '### with-bn vs no-bn\n\n*Does BatchNorm help?*\n\n**Verdict:** with-bn is 4.7 points above no-bn',
    );
    expect(md).toContain('| pairs (seeds both arms finished) | 4 (seeds 1, 2, 3, 4) |');
    expect(md).toContain('| difference with-bn − no-bn | 4.72 points |');
    expect(md).toContain('| 95 % CI of the difference | 3.72 to 5.73 points |');
    expect(md).toContain('| test | paired t-test: t = 14.895, df = 3, p = 0.00066 |');
    expect(md).toContain(
      '**Verdict:** no difference detectable at this budget: dropout − no-bn = 0.0 points',
    );
    // one pair: says there is no interval and no test, never NaN
    expect(md).toContain('### tiny vs with-bn');
    expect(md).toContain('| pairs (seeds both arms finished) | 1 (seed 1) |');
    expect(md).toContain('| 95 % CI of the difference | −5.73 to −3.72 points |');
    expect(md).toContain('| test | paired t-test: t = −14.895, df = 3, p = 0.00066 |');
    expect(md).toContain(
      '| 95 % CI of the difference | none (one pair: no spread, so no test and no confidence interval) |',
    );
    expect(md).toContain(
      '| test | paired t-test: not computed (one pair: no spread, so no test and no confidence interval) |',
    );
    expect(md).not.toMatch(/NaN|undefined|null|Infinity/);
    expect(md).toContain('## Which test and why');
    expect(md).toContain('Wilcoxon signed-rank test cannot reach p < 0.0625');
    // machines: the failed job ran on box-b
    expect(md).toContain(
      '| box-a | Test CPU, 2 CPUs, 8 GiB, linux-x64, Node v20.0.0 | wasm (2 threads) | 15 | 191.0 |',
    );
    expect(md).toContain(
      '| box-b | Test CPU, 2 CPUs, 8 GiB, linux-x64, Node v20.0.0 | wasm (2 threads) | 1 | 15.0 |',
    );
    expect(md).toContain(
      "| no-bn | 5 | DATASET_MISSING | input (not retried) | cannot read 't10k-images-idx3-ubyte': no such file |",
    );
    expect(md).toContain('![test accuracy per arm: each seed, and the mean with its 95 % CI](accuracy.svg)');
    expect(md).toContain('![training loss per epoch, mean ± sd over seeds](curves.svg)');
    expect(hasMachinePath(md)).toBe(false);
  });

  it('plots every finished seed, a mean per arm and an interval where there are 2 seeds or more', async () => {
    const svg = await readFile(join(dir, 'run', 'accuracy.svg'), 'utf8');
    expect(countMarkItems(svg, 'points_marks')).toBe(15);
    expect(countMarkItems(svg, 'centers_marks')).toBe(4);
    expect(countMarkItems(svg, 'intervals_layer_2_marks')).toBe(3); // not tiny (one seed)
    expect(svg).toContain('>97.20</text>');
  });

  it('plots learning curves per arm with a band where there are 2 seeds or more', async () => {
    // only with-bn has validation accuracy, so all arms show training loss
    const svg = await readFile(join(dir, 'run', 'curves.svg'), 'utf8');
    expect(countMarkItems(svg, 'lines_marks')).toBe(4);
    expect(countMarkItems(svg, 'dots_marks')).toBe(8); // 2 epochs × 4 arms
    expect(countMarkItems(svg, 'bands_marks')).toBe(3);
    expect(svg).toContain('>training loss</text>');
  });

  it('plots validation accuracy when every arm has it, and writes no plot when no job finished', async () => {
    const withVal = study.arms.flatMap((a) =>
      [1, 2].map((seed) => {
        const r = done(a.name, seed, 0.9 + seed / 100);
        return { ...r, history: r.history.map((e) => ({ ...e, valAccuracy: 0.8 + seed / 100 })) };
      }),
    );
    const out = join(dir, 'val');
    await writeStudyReport(out, study, withVal, { wallSeconds: 5, command: 'lenet study run bn-test' });
    const svg = await readFile(join(out, 'curves.svg'), 'utf8');
    expect(svg).toContain('>validation accuracy (%)</text>');
    expect(countMarkItems(svg, 'bands_marks')).toBe(4);

    const none = join(dir, 'none');
    const failedOnly = [{ ...results.find((r) => r.status === 'failed')! }];
    const { files: written } = await writeStudyReport(none, study, failedOnly, {
      wallSeconds: 1.25,
      command: 'x',
    });
    expect((await readdir(none)).sort()).toEqual(['results.json', 'study.md']);
    expect(written).toHaveLength(2);
    const text = await readFile(join(none, 'study.md'), 'utf8');
    expect(text).toContain('None: no job finished.');
    expect(text).toContain('| wall time | 1.3 s |');
    expect(text).toContain('**Verdict:** no seed finished in both with-bn and no-bn: nothing to compare.');
    expect(text).not.toMatch(/NaN|undefined|null/);
  });
});
