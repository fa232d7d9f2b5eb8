// Writes the README examples the pack smoke runs to `<out>/<name>.ts`: each ```ts block of a
// package README that follows a `<!-- pack-smoke: <name> -->` line. Usage: node readme-examples.mjs <out>
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const out = process.argv[2];
if (!out) throw new Error('usage: node readme-examples.mjs <output folder>');
const MARKED = /<!-- pack-smoke: ([a-z0-9-]+) -->\s*\n```ts\n([\s\S]*?)\n```/g;

mkdirSync(out, { recursive: true });
const written = new Map();
for (const dir of readdirSync(join(root, 'packages')).sort()) {
  let readme;
  try {
    readme = readFileSync(join(root, 'packages', dir, 'README.md'), 'utf8');
  } catch {
    continue;
  }
  for (const [, name, code] of readme.matchAll(MARKED)) {
    if (written.has(name))
      throw new Error(`pack-smoke example '${name}' is in ${written.get(name)} and ${dir}`);
    written.set(name, dir);
    writeFileSync(join(out, `${name}.ts`), `// From packages/${dir}/README.md\n${code}\n`);
  }
}
console.log(`README examples: ${[...written.keys()].join(', ')}`);
