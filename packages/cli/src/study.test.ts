// `lenet study`: in-process, with real job processes (build first: pnpm turbo run build
// --filter=@lenet/cli...), on tiny budgets.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getStudy, listStudies } from '@lenet/study';
import { tinyStudy } from '@lenet/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { lenet } from './testing/helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'lenet-cli-study-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The tiny study as a file, with fields replaced by `over`. */
function tinyStudyFile(over: Record<string, unknown> = {}): string {
  const file = join(tmp, `tiny-${Object.keys(over).join('-') || 'plain'}.json`);
  writeFileSync(file, JSON.stringify(tinyStudy(over)));
  return file;
}

describe('lenet study list and show', () => {
  it('lists every built-in study with its report, seeds, jobs, arms and question', async () => {
    const r = await lenet('study', 'list');
    expect(r.code).toBe(0);
    expect(r.out.split('\n')[0]).toMatch(/^name +report +seeds +jobs +arms \/ question$/);
    for (const s of listStudies()) expect(r.out).toContain(s.name);
    expect(r.out).toMatch(
      /report-002-batchnorm +002 +5 +10 +bn vs no-bn\n +Does BatchNorm make the net more accurate\?/,
    );
    expect(r.out).toMatch(/report-004-depth +004 +5 +15 +baseline vs shallow vs deep\n/);
    expect(r.out).toMatch(/report-003-lenet5-vs-mlp +003 +5 +10 +lenet5 vs mlp2 \(needs --data <folder>\)/);
    const json = await lenet('study', 'list', '--json');
    const rows = JSON.parse(json.out) as { name: string; jobs: number; report: string }[];
    expect(rows.find((x) => x.name === 'report-000-dropout')).toMatchObject({ report: '000', jobs: 10 });
  });

  it('shows a study as JSON that a study file can start from', async () => {
    const r = await lenet('study', 'show', 'report-002-batchnorm');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual(getStudy('report-002-batchnorm'));
    const file = join(tmp, 'shown.json');
    writeFileSync(file, r.out);
    const again = await lenet('study', 'show', file);
    expect(JSON.parse(again.out)).toEqual(JSON.parse(r.out));
  });
});

describe('lenet study run', () => {
  it('trains a study file end to end, writes results.json, and resumes without training again', async () => {
    const out = join(tmp, 'run');
    const r = await lenet(
      'study',
      'run',
      tinyStudyFile(),
      '--out',
      out,
      '--backend',
      'wasm',
      '--workers',
      '2',
    );
    expect(r.err).not.toMatch(/lenet: /);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^study tiny: 4 jobs \(2 arms x 2 seeds\); 2 job processes, backend wasm; /);
    expect(
      r.out.match(/^\[\d\/4\] (lenet5|mlp) seed [01]: test accuracy \d+\.\d\d% \(\d+\.\d s, local-[12]\)$/gm),
    ).toHaveLength(4);
    expect(r.out).toMatch(
      /4 jobs trained in \d+\.\d s\nDoes convolution help\?: (lenet5|mlp|no difference).*2 seeds\)\nreport: .*study\.md \(6 files\)\n$/,
    );
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    expect(results.study.name).toBe('tiny');
    // Options in the order the command declares them.
    expect(results.command).toBe(
      `lenet study run ${join(tmp, 'tiny-plain.json')} --out ${out} --workers 2 --backend wasm`,
    );
    expect(
      results.jobs.map(
        (j: { arm: string; seed: number; status: string }) => `${j.arm}/${j.seed}/${j.status}`,
      ),
    ).toEqual(['lenet5/0/done', 'lenet5/1/done', 'mlp/0/done', 'mlp/1/done']); // by arm, then seed
    expect(existsSync(join(out, 'run.lock'))).toBe(false);

    const again = await lenet('study', 'run', tinyStudyFile(), '--out', out, '--json');
    expect(again.code).toBe(0);
    const summary = JSON.parse(again.out);
    expect(summary).toMatchObject({ study: 'tiny', jobs: 4, trained: 0, reused: 4, failed: [] });
    const reread = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    expect(reread.jobs).toEqual(results.jobs);
  }, 180_000);

  it('lists the failed jobs and exits 1 when a job fails', async () => {
    const file = tinyStudyFile({ dataset: 'kmnist', data: join(tmp, 'no-kmnist-here'), seeds: [0] });
    const r = await lenet(
      'study',
      'run',
      file,
      '--out',
      join(tmp, 'failing'),
      '--backend',
      'wasm',
      '--workers',
      '1',
    );
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^failed: lenet5 seed 0 \(job [0-9a-f]{12}\): DATASET_INVALID: .*no-kmnist-here/m);
    expect(r.err).toMatch(/^failed: mlp seed 0 /m);
    expect(r.err).toMatch(/lenet: 2 of 2 jobs failed \(listed above\)/);
    expect(existsSync(join(tmp, 'failing', 'results.json'))).toBe(true);
  }, 120_000);

  it('refuses a bad study file, an unknown study, a missing folder and bad options with exit code 2', async () => {
    const bad = tinyStudyFile({ arms: [{ name: 'x', model: 'lenet6' }] });
    const cases: [string[], RegExp][] = [
      [
        ['study', 'run', bad],
        new RegExp(
          `^lenet: ${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: arms\\[0\\]\\.model: unknown preset 'lenet6'`,
        ),
      ],
      [
        ['study', 'run', join(tmp, 'missing.json')],
        /missing\.json: cannot read the study file: missing: no such file/,
      ],
      [['study', 'run', 'report-999'], /unknown study 'report-999'; built-in studies: report-000-dropout,/],
      [
        ['study', 'run', 'report-001-lenet50-vs-lenet5'],
        /the folder data set is not bundled: .*--data <dir>/,
      ],
      [
        ['study', 'run', 'report-002-batchnorm', '--epochs', '0'],
        /--epochs must be a positive integer, got '0'/,
      ],
      [['study', 'show', 'nope'], /unknown study 'nope'/],
    ];
    for (const [argv, message] of cases) {
      const r = await lenet(...argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err, argv.join(' ')).toMatch(message);
    }
  });
});
