/**
 * `count` and the noun that goes with it: `1 epoch`, `3 epochs`, `10,000 images`. The plural is
 * the singular plus `s` unless given (`plural(2, 'batch', 'batches')`).
 */
export function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${count.toLocaleString('en-US')} ${count === 1 ? singular : pluralForm}`;
}

/** A wall time as people read it: `12.3 s`, `4 min 5 s`, `2 h 3 min`; `unknown` if not a time. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return 'unknown';
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const s = Math.round(seconds);
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}
