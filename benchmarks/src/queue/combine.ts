// The partial results of a queued run (one per backend job) made into one results file per
// machine: the cells, accuracy rows and suites of the jobs that ran on it, its environment, and a
// ratio reference of its own. Nothing is combined across machines.
import { machineKey, machineOf } from '../merge/machine.js';
import { ALL_BACKENDS, type BenchBackend, type BenchResult, PYTORCH_BACKEND } from '../types.js';

/** Each string once, in first-appearance order. */
function distinct(items: readonly string[]): string[] {
  return [...new Set(items)];
}

/**
 * The ratio reference of one machine: PyTorch measured on it, else the published figures when its
 * pytorch-cpu job found no PyTorch, else none, saying so when pytorch-cpu ran elsewhere.
 */
function referenceOf(
  parts: readonly BenchResult[],
  planBackends: readonly BenchBackend[],
): BenchResult['reference'] {
  const measured = parts.find((p) => p.reference.kind === 'measured');
  if (measured) return measured.reference;
  const own = parts.find((p) => p.options.backends.includes(PYTORCH_BACKEND));
  if (own) return own.reference;
  if (planBackends.includes(PYTORCH_BACKEND)) {
    return {
      kind: 'none',
      note: 'pytorch-cpu ran on another machine (or on none): ratios are taken within one machine only, so this machine has no ratio to PyTorch',
    };
  }
  return parts[0].reference;
}

/** One machine's parts (at least one) as one results file. */
function combineParts(parts: readonly BenchResult[], planBackends: readonly BenchBackend[]): BenchResult {
  const byDate = [...parts].sort((a, b) => Date.parse(a.env.date) - Date.parse(b.env.date));
  const first = byDate[0];
  const last = byDate[byDate.length - 1];
  const order = (b: BenchBackend) => ALL_BACKENDS.indexOf(b);
  const backends = ALL_BACKENDS.filter((b) => byDate.some((p) => p.options.backends.includes(b)));
  const pytorchPart = byDate.find((p) => p.options.backends.includes(PYTORCH_BACKEND));
  const extras = Object.assign({}, ...byDate.map((p) => p.extras ?? {})) as NonNullable<
    BenchResult['extras']
  >;
  return {
    format: first.format,
    version: first.version,
    options: { ...first.options, backends },
    env: {
      ...first.env,
      loadAverageStart: first.env.loadAverageStart,
      ...(last.env.loadAverageEnd !== undefined ? { loadAverageEnd: last.env.loadAverageEnd } : {}),
      backends: Object.assign({}, ...byDate.map((p) => p.env.backends)),
      onnxProviders: Object.assign({}, ...byDate.map((p) => p.env.onnxProviders)),
      pytorch: (pytorchPart ?? first).env.pytorch,
    },
    // Table order, as one run records them (the sort is stable within a backend).
    cells: byDate.flatMap((p) => p.cells).sort((a, b) => order(a.backend) - order(b.backend)),
    accuracy: byDate.flatMap((p) => p.accuracy),
    reference: referenceOf(byDate, planBackends),
    ...(Object.keys(extras).length > 0 ? { extras } : {}),
    notes: distinct(byDate.flatMap((p) => p.notes)),
    durationSec: Math.round(byDate.reduce((s, p) => s + p.durationSec, 0) * 10) / 10,
  };
}

/**
 * Groups the results of a queued run's jobs by the machine they ran on (hostname and hardware, as
 * `--merge` tells machines apart) and makes each group one results file, machines in order of
 * first appearance. `planBackends` is the whole run's backends (for the note of a machine whose
 * ratios lack the PyTorch reference measured elsewhere).
 */
export function combineByMachine(
  parts: readonly BenchResult[],
  planBackends: readonly BenchBackend[],
): BenchResult[] {
  const groups = new Map<string, BenchResult[]>();
  for (const p of parts) {
    const key = machineKey(machineOf(p));
    groups.set(key, [...(groups.get(key) ?? []), p]);
  }
  return [...groups.values()].map((g) => combineParts(g, planBackends));
}
