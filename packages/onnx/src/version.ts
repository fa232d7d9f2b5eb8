import { createRequire } from 'node:module';

/** Producer name written into every exported model. */
export const PRODUCER_NAME = '@lenet/onnx';

/** This package's version (from its package.json; `src/` and `dist/` are both one level below it). */
export const PRODUCER_VERSION: string = (
  createRequire(import.meta.url)('../package.json') as { version: string }
).version;
