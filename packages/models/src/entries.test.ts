import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const srcDir = dirname(fileURLToPath(import.meta.url));
const SPECIFIER =
  /(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s*'([^']+)'|import\(\s*'([^']+)'\s*\)|^import\s+'([^']+)'/gm;

/** Every module `entry` loads (relative paths from src) and every package it imports, with type-only imports left out. */
function importGraph(entry: string): { files: string[]; packages: string[] } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    const text = readFileSync(join(srcDir, file), 'utf8');
    for (const m of text.matchAll(SPECIFIER)) {
      if (/^\s*(?:import|export)\s+type\b/.test(m[0].trimStart())) continue;
      const spec = m[1] ?? m[2] ?? m[3];
      if (spec.startsWith('.'))
        visit(relative(srcDir, join(srcDir, dirname(file), spec.replace(/\.js$/, '.ts'))));
      else packages.add(spec);
    }
  };
  visit(entry);
  return { files: [...files].sort(), packages: [...packages].sort() };
}

describe('entry points', () => {
  it('@lenet/models loads no TensorFlow.js: specs, presets, shapes and summaries work without it', () => {
    const { files, packages } = importGraph('index.ts');
    expect(packages.filter((p) => !p.startsWith('node:') && p !== '@lenet/common')).toEqual([]);
    expect(files.filter((f) => f.startsWith('tf/') || f === 'tfjs.ts')).toEqual([]);
    expect(files).toContain('presets.ts');
  });

  it('@lenet/models/tf is where the builder and model save/load load TensorFlow.js', () => {
    const { files, packages } = importGraph('tf/index.ts');
    expect(files).toEqual(expect.arrayContaining(['tf/build.ts', 'tf/model-io.ts', 'tfjs.ts']));
    expect(packages).toEqual(
      expect.arrayContaining([
        '@tensorflow/tfjs-backend-cpu',
        '@tensorflow/tfjs-core',
        '@tensorflow/tfjs-layers',
      ]),
    );
  });
});
