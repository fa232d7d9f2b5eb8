import { cellId, failedCell } from '../cells/common.js';
import { meanOf, type PartnerFor, roundTiming } from '../measure.js';
import {
  describeBlas,
  findTorch,
  PUBLISHED,
  PUBLISHED_MACHINE,
  pytorchCell,
  pytorchSkipped,
  torchThreadCounts,
} from '../pytorch.js';
import { PytorchServer } from '../pytorch-server.js';
import { type BenchResult, FIT_BACKENDS, PYTORCH_BACKEND, TFJS_BACKENDS } from '../types.js';
import type { BenchRun } from './context.js';
import type { Phase } from './phase.js';

/** Where a model's PyTorch cell was timed in rounds: its iterations per thread count, and with what. */
interface Rounds {
  byThreads: Map<number, number[]>;
  done: number;
  with: string[];
}

/**
 * Milliseconds a paired round of PyTorch's waits after its last timed batch before the partner's
 * next round starts: its OpenMP threads spin on for ~10 ms, and a fit epoch timed right after a
 * round ran 4–26 % slower than one timed after an idle second (fit-profile.mjs).
 */
export const PARTNER_SETTLE_MS = 100;

/**
 * The PyTorch CPU reference cells, when asked for, as a phase: torch is found and one
 * `pytorch_ref.py --serve` process started at the start (or every cell recorded as skipped), then
 * per model its cells. `partner` lends PyTorch's same cell to another column's cell, timed in
 * rounds between that cell's (the profile's `pairedRounds`); a cell timed so is built from those
 * rounds, every other one measured on its own. `reference()` gives, after the last model, what the
 * ratios are taken against (measured here, or the published figures when PyTorch could not
 * run).
 */
export function pytorchPhase(run: BenchRun): Phase & {
  reference(): BenchResult['reference'];
  partner: PartnerFor;
} {
  const { plan, env } = run;
  const asked = plan.backends.includes(PYTORCH_BACKEND) && (run.want('train') || run.want('infer'));
  const rounds = run.profile.pairedRounds ?? 1;
  const threadCounts = torchThreadCounts();
  const paired = new Map<string, Rounds>();
  let server: PytorchServer | undefined;
  let torch = '';
  return {
    async start() {
      if (!asked) return;
      const found = await findTorch();
      if (!found.ok) {
        env.pytorch = found.reason;
        for (const model of plan.models) {
          run.cells.push(
            ...pytorchSkipped(model, run.trainBatches(model), run.inferBatches(model), found.reason),
          );
        }
        run.log(`${PYTORCH_BACKEND}: skipped (${found.reason})`);
        return;
      }
      torch = found.torch;
      const stepPaired = plan.backends.some((b) => (TFJS_BACKENDS as readonly string[]).includes(b));
      const fitPaired = run.want('train') && plan.backends.some((b) => b in FIT_BACKENDS);
      const partners = [
        ...(stepPaired ? ["the first TensorFlow.js backend's same cell"] : []),
        ...(fitPaired ? ["each measured epoch of fit's cells"] : []),
      ];
      const how =
        rounds > 1 && partners.length
          ? `; cells timed in ${rounds} rounds alternating with ${partners.join(' and with ')}, ${PARTNER_SETTLE_MS} ms idle after each of its rounds`
          : '';
      env.pytorch = `torch ${found.torch} via ${found.python}, ${describeBlas(found.blas)}, measured with ${threadCounts.join(' and ')} thread(s) (BLAS itself on 1), each cell keeps the faster${how}`;
      run.log(`${PYTORCH_BACKEND}: ${env.pytorch}`);
      server = await PytorchServer.start(found.python, Math.max(...threadCounts));
    },
    partner(task, model, batch, withBackend) {
      const torchServer = server;
      if (torchServer === undefined || rounds < 2) return undefined;
      // A cell paired with several columns (the step's and fit's) pools its rounds with each.
      const key = cellId(task, model, PYTORCH_BACKEND, batch);
      const entry: Rounds = paired.get(key) ?? { byThreads: new Map(), done: 0, with: [] };
      if (!entry.with.includes(withBackend)) entry.with.push(withBackend);
      paired.set(key, entry);
      const timing = run.pytorchTiming(model);
      return {
        rounds,
        async round(index) {
          let best = Number.POSITIVE_INFINITY;
          for (const threads of threadCounts) {
            const got = await torchServer.time(
              run.spec(model),
              task,
              batch,
              threads,
              roundTiming(timing, index, rounds),
            );
            entry.byThreads.set(threads, [...(entry.byThreads.get(threads) ?? []), ...got.samples]);
            best = Math.min(best, meanOf(got.samples));
          }
          entry.done++;
          // PyTorch's OpenMP threads keep spinning for a while after a round: the cell timed next
          // (a 20-batch fit epoch above all) would lose a core to them.
          await new Promise((resolve) => setTimeout(resolve, PARTNER_SETTLE_MS));
          return best;
        },
      };
    },
    async model(model) {
      if (server === undefined) return;
      const spec = run.spec(model);
      const timing = run.pytorchTiming(model);
      const cells = [
        ...run.trainBatches(model).map((batch) => ({ task: 'train' as const, batch })),
        ...run.inferBatches(model).map((batch) => ({ task: 'infer' as const, batch })),
      ];
      for (const { task, batch } of cells) {
        const inRounds = paired.get(cellId(task, model, PYTORCH_BACKEND, batch));
        if (inRounds !== undefined && inRounds.done > 0) {
          const how = `${inRounds.done} rounds alternating with ${inRounds.with.join(' and ')}'s cell${inRounds.with.length > 1 ? 's' : ''}`;
          run.push(pytorchCell(task, model, batch, inRounds.byThreads, torch, how));
          continue;
        }
        try {
          const byThreads = new Map<number, number[]>();
          for (const threads of threadCounts) {
            byThreads.set(threads, (await server.time(spec, task, batch, threads, timing)).samples);
          }
          run.push(pytorchCell(task, model, batch, byThreads, torch, 'timed on its own'));
        } catch (err) {
          run.push(failedCell(task, model, PYTORCH_BACKEND, batch, err));
        }
      }
      await server.reset().catch(() => undefined);
    },
    async finish() {
      await server?.close();
    },
    reference() {
      if (!asked) return { kind: 'none', note: 'pytorch-cpu was not asked for' };
      const measured = run.cells.some((c) => c.backend === PYTORCH_BACKEND && c.status === 'ok');
      return measured
        ? { kind: 'measured', note: `ratios are to PyTorch CPU (${env.pytorch}) measured in this run` }
        : {
            kind: 'published',
            note: `PyTorch not measured (${env.pytorch}): ratios are to the issue's published figures, measured on ${PUBLISHED_MACHINE}, not on this machine`,
            published: PUBLISHED,
          };
    },
  };
}
