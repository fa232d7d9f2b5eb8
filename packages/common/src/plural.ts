/**
 * `count` and the noun that goes with it: `1 epoch`, `3 epochs`, `10,000 images`. The plural is
 * the singular plus `s` unless given (`plural(2, 'batch', 'batches')`).
 */
export function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${count.toLocaleString('en-US')} ${count === 1 ? singular : pluralForm}`;
}
