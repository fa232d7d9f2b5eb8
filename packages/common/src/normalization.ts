import { describeValue } from './options.js';

/**
 * Why `value` is not a usable pixel normalisation (`'unit'` or `{ mean, std }`), in words, or
 * `undefined` when it is. Every mean and std must be a finite number and every std above 0 (a
 * channel whose pixels all have one value has std 0; dividing by it gives NaN everywhere). With
 * `channels`, each list must hold 1 value or one per channel.
 */
export function normalizationProblem(value: unknown, channels?: number): string | undefined {
  if (value === 'unit') return undefined;
  const stats = value as { mean?: unknown; std?: unknown } | null;
  if (
    typeof stats !== 'object' ||
    stats === null ||
    !Array.isArray(stats.mean) ||
    !Array.isArray(stats.std)
  ) {
    return `normalize must be 'unit' or { mean, std } with one number per channel, got ${describeValue(value)}`;
  }
  const lists = [
    ['mean', stats.mean],
    ['std', stats.std],
  ] as const;
  for (const [name, list] of lists) {
    if (list.length === 0) return `normalize.${name} is empty: it needs one number per channel`;
    if (channels !== undefined && list.length !== 1 && list.length !== channels) {
      return `normalize.${name} has ${list.length} values, expected 1 or ${channels} (channels)`;
    }
    const bad = list.findIndex((v) => typeof v !== 'number' || !Number.isFinite(v));
    if (bad >= 0) return `normalize.${name}[${bad}] is ${describeValue(list[bad])}, not a finite number`;
  }
  const [m, s] = [stats.mean.length, stats.std.length];
  if (channels === undefined && m !== s && m !== 1 && s !== 1) {
    return `normalize.mean has ${stats.mean.length} values but normalize.std has ${stats.std.length}`;
  }
  const zero = (stats.std as number[]).findIndex((s) => !(s > 0));
  if (zero >= 0) {
    return `normalize.std must be > 0, got [${stats.std.join(', ')}]: std[${zero}] is ${stats.std[zero]} (a channel whose pixels all have one value has std 0 and cannot be standardised; use 'unit')`;
  }
  return undefined;
}
