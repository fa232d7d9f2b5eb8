import {
  describeBlas,
  findTorch,
  PUBLISHED,
  PUBLISHED_MACHINE,
  pytorchSkipped,
  runPytorchCells,
  torchThreadCounts,
} from '../pytorch.js';
import { type BenchResult, PYTORCH_BACKEND } from '../types.js';
import type { BenchRun } from './context.js';
import type { Phase } from './phase.js';

/**
 * The PyTorch CPU reference cells, when asked for, as a phase: torch is found at the start (or
 * every cell recorded as skipped), then per model its cells. `reference()` gives, after the last
 * model, what the ratios are taken against (measured here, or the published figures when
 * PyTorch could not run).
 */
export function pytorchPhase(run: BenchRun): Phase & { reference(): BenchResult['reference'] } {
  const { plan, env } = run;
  const asked = plan.backends.includes(PYTORCH_BACKEND) && (run.want('train') || run.want('infer'));
  let python: string | undefined;
  return {
    async start() {
      if (!asked) return;
      const torch = await findTorch();
      if (!torch.ok) {
        env.pytorch = torch.reason;
        for (const model of plan.models) {
          run.cells.push(
            ...pytorchSkipped(model, run.trainBatches(model), run.inferBatches(model), torch.reason),
          );
        }
        run.log(`${PYTORCH_BACKEND}: skipped (${torch.reason})`);
        return;
      }
      env.pytorch = `torch ${torch.torch} via ${torch.python}, ${describeBlas(torch.blas)}, measured with ${torchThreadCounts().join(' and ')} thread(s) (BLAS itself on 1), each cell keeps the faster`;
      run.log(`${PYTORCH_BACKEND}: ${env.pytorch}`);
      python = torch.python;
    },
    async model(model) {
      if (python === undefined) return;
      const out = await runPytorchCells(
        python,
        model,
        run.spec(model),
        run.trainBatches(model),
        run.inferBatches(model),
        run.pytorchTiming(model),
      );
      for (const c of out) run.push(c);
    },
    finish() {},
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
