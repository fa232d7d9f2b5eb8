import { describe, expect, it } from 'vitest';
import { hasMachinePath, withoutMachinePaths } from './machine-paths.js';

describe('withoutMachinePaths', () => {
  it('keeps the file name of a data path in an error message and finds no path afterwards', () => {
    const message = "cannot read '/home/ann/data/cifar10/data_batch_1.bin': no such file";
    expect(hasMachinePath(message)).toBe(true);
    const clean = withoutMachinePaths(message);
    expect(clean).toBe("cannot read 'data_batch_1.bin': no such file");
    expect(hasMachinePath(clean)).toBe(false);
    expect(withoutMachinePaths('wrote /srv/runs/study-1/study.md', '/srv/runs/')).toBe(
      'wrote study-1/study.md',
    );
  });
});
