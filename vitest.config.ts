import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const packagesDir = fileURLToPath(new URL('./packages/', import.meta.url));

// Tests import sibling packages from their sources, so `pnpm test` needs no build first. An alias
// also matches the ids below it (`@lenet/models` matches `@lenet/models/tf`), and the first match
// wins, so the subpath entries come first.
const alias = [
  { find: '@lenet/models/tf', replacement: `${packagesDir}models/src/tf/index.ts` },
  { find: /^@lenet\/([\w-]+)\/([\w-]+)$/, replacement: `${packagesDir}$1/src/$2.ts` },
  ...readdirSync(packagesDir).map((name) => ({
    find: `@lenet/${name}`,
    replacement: `${packagesDir}${name}/src/index.ts`,
  })),
];

export default defineConfig({
  resolve: { alias },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'benchmarks/src/**/*.test.ts'],
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: process.env.CI ? ['default'] : ['default'],
  },
});
