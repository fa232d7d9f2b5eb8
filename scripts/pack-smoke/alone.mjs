// Installs each public package's tarball ALONE (with the tarballs of the @lenet packages it
// depends on, which are not on the registry) into a bare npm project with plain `npm install`:
// no environment variables, no --ignore-scripts. Then runs the package's README example and
// measures node_modules, failing above the size the package promises.
// Usage: node alone.mjs <work folder> (holding tarballs/ and app/out/examples/*.js from run.sh)
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const work = process.argv[2];
if (!work) throw new Error('usage: node alone.mjs <work folder>');
const only = process.argv.slice(3);

const manifest = (dir) => JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8'));
/** TensorFlow.js for `@lenet/models/tf`: its optional peers, at the versions it names. */
const builderPeers = Object.entries(manifest('models').peerDependencies).map(([n, v]) => `${n}@${v}`);

/**
 * What is installed and run. `example`: a README example (scripts/pack-smoke/readme-examples.mjs);
 * `commands`: shell commands from the README instead; `maxMb`: the promise of issue 13.
 */
const CASES = [
  { name: 'common', pkg: 'common', example: 'common' },
  { name: 'datasets', pkg: 'datasets', example: 'datasets' },
  { name: 'metrics', pkg: 'metrics', example: 'metrics' },
  { name: 'models', pkg: 'models', example: 'models', maxMb: 5, note: 'without TensorFlow.js' },
  {
    name: 'models-tf',
    pkg: 'models',
    extra: builderPeers,
    example: 'models-tf',
    maxMb: 100,
    note: 'with its optional peers',
  },
  { name: 'backend', pkg: 'backend', example: 'backend' },
  { name: 'onnx', pkg: 'onnx', example: 'onnx', maxMb: 100, note: 'export only' },
  { name: 'train', pkg: 'train', example: 'train', maxMb: 200 },
  { name: 'study', pkg: 'study', example: 'study' },
  {
    name: 'cli',
    pkg: 'cli',
    commands: [
      ['lenet', 'presets'],
      ['lenet', 'summary', 'torch-bn', '--style', 'torch'],
    ],
  },
];

const publicPackages = readdirSync(join(root, 'packages')).filter((d) => {
  try {
    return manifest(d).private !== true;
  } catch {
    return false;
  }
});
const uncovered = publicPackages.filter((d) => !CASES.some((c) => c.pkg === d));
if (uncovered.length > 0) throw new Error(`no install-alone case for @lenet/${uncovered.join(', @lenet/')}`);

/** The @lenet packages `dir` needs installed beside it (its dependencies, transitively), itself first. */
function lenetClosure(dir) {
  const seen = [dir];
  for (let i = 0; i < seen.length; i++) {
    const m = manifest(seen[i]);
    for (const name of Object.keys({ ...m.dependencies, ...m.peerDependencies })) {
      const dep = name.startsWith('@lenet/') ? name.slice('@lenet/'.length) : null;
      if (dep && !seen.includes(dep)) seen.push(dep);
    }
  }
  return seen;
}

const tarballs = readdirSync(join(work, 'tarballs'));
function tarballOf(dir) {
  const { version } = manifest(dir);
  const file = tarballs.find((f) => f === `lenet-${dir}-${version}.tgz`);
  if (!file) throw new Error(`no tarball for @lenet/${dir} ${version} in ${join(work, 'tarballs')}`);
  return join(work, 'tarballs', file);
}

/** The environment of a plain `npm install` by a user: none of the npm_config_* pnpm sets for scripts. */
function plainEnv() {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(npm_|pnpm_|ONNXRUNTIME_)/i.test(k) || k === 'NODE_OPTIONS') continue;
    env[k] = v;
  }
  return env;
}

const duMb = (dir) => Number(execFileSync('du', ['-sk', dir], { encoding: 'utf8' }).split('\t')[0]) / 1024;

/** The biggest installed packages, `name size` (scoped packages counted one by one). */
function largest(nodeModules, count) {
  const names = readdirSync(nodeModules)
    .filter((n) => !n.startsWith('.'))
    .flatMap((n) => (n.startsWith('@') ? readdirSync(join(nodeModules, n)).map((s) => `${n}/${s}`) : [n]));
  return names
    .map((n) => ({ n, mb: duMb(join(nodeModules, n)) }))
    .sort((a, b) => b.mb - a.mb)
    .slice(0, count)
    .map(({ n, mb }) => `${n} ${mb.toFixed(1)} MB`);
}

/** Installs, measures and runs one case; returns what the summary prints. */
function runCase(c) {
  const dir = join(work, 'alone', c.name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'package.json'),
    `${JSON.stringify({ name: `alone-${c.name}`, private: true, type: 'module' }, null, 2)}\n`,
  );
  const lenet = lenetClosure(c.pkg);
  const specs = [...lenet.map(tarballOf), ...(c.extra ?? [])];
  console.log(`\n== ${c.name}: npm install @lenet/${lenet.join(' @lenet/')} ${(c.extra ?? []).join(' ')}`);
  const env = plainEnv();
  const t0 = Date.now();
  // --prefer-offline: what an earlier project fetched (TensorFlow.js above all) comes from the cache.
  execFileSync(
    'npm',
    ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', ...specs],
    {
      cwd: dir,
      env,
      stdio: 'inherit',
    },
  );
  const result = {
    mb: duMb(join(dir, 'node_modules')),
    installSeconds: (Date.now() - t0) / 1000,
    largest: largest(join(dir, 'node_modules'), 5),
  };
  console.log(`node_modules: ${result.mb.toFixed(1)} MB (${result.largest.join(', ')})`);
  if (c.maxMb !== undefined && result.mb > c.maxMb) {
    throw new Error(`node_modules is ${result.mb.toFixed(1)} MB, more than the ${c.maxMb} MB promised`);
  }
  if (c.example) {
    const js = join(work, 'app', 'out', 'examples', `${c.example}.js`);
    if (!existsSync(js)) throw new Error(`README example '${c.example}' was not compiled (${js})`);
    copyFileSync(js, join(dir, 'example.js'));
    execFileSync('node', ['example.js'], { cwd: dir, env, stdio: 'inherit', timeout: 300_000 });
  }
  for (const [bin, ...args] of c.commands ?? []) {
    const command = join(dir, 'node_modules', '.bin', bin);
    execFileSync(command, args, { cwd: dir, env, stdio: 'inherit', timeout: 120_000 });
  }
  return result;
}

// Every case runs, so one failure does not hide the others' sizes.
const results = [];
for (const c of CASES) {
  if (only.length > 0 && !only.includes(c.name)) continue;
  try {
    results.push({ ...c, ...runCase(c) });
  } catch (error) {
    results.push({ ...c, error: error instanceof Error ? error.message.split('\n')[0] : String(error) });
  }
}

console.log('\npackage installed alone      node_modules   limit    install');
for (const r of results) {
  const label = `${r.name}${r.note ? ` (${r.note})` : ''}`.padEnd(28);
  if (r.error) {
    console.log(`${label} FAILED: ${r.error}`);
    continue;
  }
  const limit = r.maxMb === undefined ? '' : `≤ ${r.maxMb} MB`;
  console.log(
    `${label} ${`${r.mb.toFixed(1)} MB`.padStart(12)}   ${limit.padEnd(8)} ${r.installSeconds.toFixed(0)} s`,
  );
}
const failed = results.filter((r) => r.error);
if (failed.length > 0) {
  console.error(`\npack smoke (each package alone): ${failed.map((r) => r.name).join(', ')} failed`);
  process.exit(1);
}
console.log('\npack smoke (each package alone): ok');
