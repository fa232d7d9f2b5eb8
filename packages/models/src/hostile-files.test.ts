import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mutations } from '@lenet/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { SpecError } from './errors.js';
import { checkSpecLimits } from './limits.js';
import { getPreset } from './presets.js';
import { loadSpec, specToJson } from './validate.js';

/**
 * Property-style test of the spec reader: seeded random truncations and byte flips of real spec
 * files (presets as `lenet models show --json` writes them) must load or throw a SpecError naming
 * the file, never another error; each case is timed (the reader is synchronous).
 */

const dir = mkdtempSync(join(tmpdir(), 'lenet-models-hostile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('hostile spec files: truncations and byte flips', () => {
  it.each([
    ['lenet5', 11],
    ['torch-bn', 12],
  ])('%s: 200 mutations load or give a SpecError naming the file', (preset, seed) => {
    const original = new TextEncoder().encode(specToJson(getPreset(preset).spec));
    const path = join(dir, `${preset}.json`);
    let refused = 0;
    for (const m of mutations(original, 200, seed)) {
      writeFileSync(path, m.bytes);
      const started = Date.now();
      try {
        checkSpecLimits(loadSpec(path), {}, { file: path });
      } catch (e) {
        expect(e, `${m.what}: ${String(e)}`).toBeInstanceOf(SpecError);
        expect((e as SpecError).message, m.what).toContain(path);
        refused++;
      }
      expect(Date.now() - started, m.what).toBeLessThan(2000);
    }
    expect(refused).toBeGreaterThan(100);
  });
});
