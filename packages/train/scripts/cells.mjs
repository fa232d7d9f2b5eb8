// What the A/B scripts here share: "preset:batch" arguments and their specs.
import { batches, head } from '@lenet/datasets';
import { getPreset } from '@lenet/models';

/** The `preset:batch` arguments of `args` (those not starting with `--`), or `fallback`'s. */
export function parseCells(args, fallback = []) {
  const given = args.filter((a) => !a.startsWith('--'));
  return (given.length > 0 ? given : fallback).map((c) => {
    const [preset, batch] = c.split(':');
    return { preset, batch: Number(batch) };
  });
}

/** The number given as `--name=N` in `args`, else `fallback`. */
export function numberOption(args, name, fallback) {
  const a = args.find((s) => s.startsWith(`--${name}=`));
  return a ? Number(a.slice(name.length + 3)) : fallback;
}

/**
 * The spec of a preset, or of `<preset>-nodropout`: the bench's variant with the dropout layers
 * removed (benchmarks/src/variants.ts).
 */
export function cellSpec(preset) {
  const base = getPreset(preset.replace(/-nodropout$/, '')).spec;
  return preset.endsWith('-nodropout')
    ? { ...base, layers: base.layers.filter((l) => l.type !== 'dropout') }
    : base;
}

/**
 * `count` batches of `batch` samples of `spec`'s input: MNIST's training images (`mnist`, the
 * dataset) where the input has their shape, else uniform noise with label 0 (speed does not
 * depend on the pixels).
 */
export function cellBatches(spec, batch, mnist, count = 1) {
  const [h, w, c] = spec.input;
  if (h === 28 && w === 28 && c === 1)
    return [...batches(head(mnist, batch * count), { batchSize: batch, layout: 'NHWC', normalize: 'unit' })];
  return Array.from({ length: count }, () => ({
    x: Float32Array.from({ length: batch * h * w * c }, () => Math.random()),
    y: new Int32Array(batch),
    shape: [batch, h, w, c],
  }));
}
