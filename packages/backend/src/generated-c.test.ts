import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const generator = fileURLToPath(new URL('../scripts/gen-scatter.mjs', import.meta.url));

describe('csrc/lenet-kernels.c', () => {
  it('holds exactly the scatter_run functions scripts/gen-scatter.mjs writes', () => {
    const run = spawnSync(process.execPath, [generator, '--check'], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });
});
