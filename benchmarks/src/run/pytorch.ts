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

/**
 * The PyTorch CPU reference cells, when asked for; returns what the ratios are taken against
 * (measured here, or the published figures when PyTorch could not run).
 */
export async function runPytorchReference(run: BenchRun): Promise<BenchResult['reference']> {
  const { plan, env } = run;
  if (!plan.backends.includes(PYTORCH_BACKEND) || !(run.want('train') || run.want('infer'))) {
    return { kind: 'none', note: 'pytorch-cpu was not asked for' };
  }
  const torch = await findTorch();
  if (!torch.ok) {
    env.pytorch = torch.reason;
    for (const model of plan.models) {
      run.cells.push(
        ...pytorchSkipped(model, run.trainBatches(model), run.inferBatches(model), torch.reason),
      );
    }
    run.log(`${PYTORCH_BACKEND}: skipped (${torch.reason})`);
  } else {
    env.pytorch = `torch ${torch.torch} via ${torch.python}, ${describeBlas(torch.blas)}, measured with ${torchThreadCounts().join(' and ')} thread(s) (BLAS itself on 1), each cell keeps the faster`;
    run.log(`${PYTORCH_BACKEND}: ${env.pytorch}`);
    for (const model of plan.models) {
      const out = await runPytorchCells(
        torch.python,
        model,
        run.spec(model),
        run.trainBatches(model),
        run.inferBatches(model),
        run.pytorchTiming(model),
      );
      for (const c of out) run.push(c);
    }
  }
  const measured = run.cells.some((c) => c.backend === PYTORCH_BACKEND && c.status === 'ok');
  return measured
    ? { kind: 'measured', note: `ratios are to PyTorch CPU (${env.pytorch}) measured in this run` }
    : {
        kind: 'published',
        note: `PyTorch not measured (${env.pytorch}): ratios are to the issue's published figures, measured on ${PUBLISHED_MACHINE}, not on this machine`,
        published: PUBLISHED,
      };
}
