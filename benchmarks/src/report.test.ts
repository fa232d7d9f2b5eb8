import { describe, expect, it } from 'vitest';
import { markdownTable, renderMarkdown } from './report.js';
import { okCell, syntheticResult } from './testing/fixtures.js';
import type { CellResult } from './types.js';

describe('markdownTable', () => {
  it('renders a header, a separator and escaped rows', () => {
    expect(markdownTable(['a', 'b'], [['1', 'x|y']])).toBe('| a | b |\n| --- | --- |\n| 1 | x\\|y |');
  });
});

describe('renderMarkdown', () => {
  const skipped: CellResult = {
    id: 'train/lenet5-classic/tensorflow/b64',
    task: 'train',
    model: 'lenet5-classic',
    backend: 'tensorflow',
    batch: 64,
    status: 'skipped',
    reason: 'native binary missing',
  };
  const r = syntheticResult([
    skipped,
    okCell('train', 'lenet5-classic', 'wasm', 64, 2100, 3),
    okCell('train', 'lenet5-classic', 'pytorch-cpu', 64, 15600, 1),
    okCell('infer', 'lenet5-classic', 'wasm', 1, 500, 4),
    okCell('infer', 'lenet5-classic', 'ort-cpu', 1, 8000, 2),
  ]);

  it('shows samples/s with margins, skipped cells with numbered reasons and the ratio to PyTorch', () => {
    const md = renderMarkdown(r);
    expect(md).toContain('| model | batch | wasm | pytorch-cpu | wasm ÷ PyTorch |');
    expect(md).toContain('| lenet5-classic | 64 | 2,100 ±3% | 15,600 ±1% | 0.135 |');
    expect(md).toContain('Not measured (every cell skipped or failed): tensorflow [1].');
    expect(md).toContain('[1] native binary missing');
    // batch-1 latency: p50 = 0.95 × mean, p99 = 1.5 × mean (see testing/fixtures)
    expect(md).toContain('| lenet5-classic | 1.90 / 3.00 | 0.12 / 0.19 |');
    // memory: tensors held, tensor peak, RSS growth (see testing/fixtures), leaked per iteration
    expect(md).toContain('| train/lenet5-classic/wasm/b64 | 0.5 | 3.2 | 12.0 | 0.0 |');
  });

  it('shows the median of the rounds for a cell timed in rounds with PyTorch, in the table and the summary', () => {
    const paired: CellResult = {
      ...okCell('train', 'lenet5-classic', 'wasm', 64, 2100, 3),
      paired: { against: 'pytorch-cpu', ratios: [0.9, 1.4, 1.2], median: 1.2 },
    };
    const md = renderMarkdown(
      syntheticResult([
        paired,
        okCell('train', 'lenet5-classic', 'pytorch-cpu', 64, 15600, 1),
        okCell('train', 'lenet5', 'wasm', 64, 3000, 3),
        okCell('train', 'lenet5', 'pytorch-cpu', 64, 6000, 1),
      ]),
    );
    // 2,100 ÷ 15,600 would be 0.135: the paired median is shown instead; lenet5 has no rounds.
    expect(md).toContain('| lenet5-classic | 64 | 2,100 ±3% | 15,600 ±1% | 1.200 |');
    expect(md).toContain('| lenet5 | 64 | 3,000 ±3% | 6,000 ±1% | 0.500 |');
    expect(md).toContain('Ratios of wasm are medians over 3 rounds, each timing the cell and then PyTorch');
    expect(md).toContain('batch 64: median 0.850 (0.500–1.200, 2 variants)');
  });

  it('puts the fit-measured columns wasm-1w and wasm-2w in their own table, with their ratios to each other and to PyTorch', () => {
    const md = renderMarkdown(
      syntheticResult([
        okCell('train', 'torch-bn', 'wasm', 256, 1500, 4),
        okCell('train', 'torch-bn', 'wasm-1w', 256, 2000, 5),
        {
          ...okCell('train', 'torch-bn', 'wasm-2w', 256, 2400, 3),
          paired: { against: 'pytorch-cpu', ratios: [0.9, 1.0, 0.95], median: 0.95 },
        },
        okCell('train', 'torch-bn', 'pytorch-cpu', 256, 3000, 2),
      ]),
    );
    expect(md).toContain('| model | batch | wasm | pytorch-cpu | wasm ÷ PyTorch |');
    // wasm-2w's epochs were paired with PyTorch's rounds: the median of the pairs, said under the fit table only.
    expect(md).toContain(
      "Ratios of wasm-2w are medians over 3 measured epochs, each followed by a round of PyTorch's same cell",
    );
    expect(md.match(/Ratios of /g)).toHaveLength(1);
    expect(md).toContain('| torch-bn | 256 | 1,500 ±4% | 3,000 ±2% | 0.500 |');
    expect(md).toContain(
      '## Training through `fit`: samples/s (epochs of `fit` on wasm with 1 and 2 workers, validation included: training images ÷ epoch wall time, mean of the measured epochs ± half their range; ÷ PyTorch: its training step in this run, no validation)',
    );
    expect(md).toContain(
      '| model | batch | wasm-1w | wasm-2w | wasm-2w ÷ wasm-1w | wasm-1w ÷ PyTorch | wasm-2w ÷ PyTorch |',
    );
    expect(md).toContain('| torch-bn | 256 | 2,000 ±5% | 2,400 ±3% | 1.200 | 0.667 | 0.950 |');
    expect(md).toContain(
      '- **Training through fit, wasm-1w ÷ PyTorch CPU (fit epochs with validation vs PyTorch steps)**: batch 256: 0.667',
    );
    expect(md).toContain(
      '- **Data-parallel training, wasm-2w ÷ wasm-1w (fit epochs, 2 workers vs 1)**: batch 256: 1.200',
    );
    // without PyTorch the fit table has no ratio to it
    const alone = renderMarkdown(
      syntheticResult([
        okCell('train', 'torch-bn', 'wasm-1w', 256, 2000, 5),
        okCell('train', 'torch-bn', 'wasm-2w', 256, 2400, 3),
      ]),
    );
    expect(alone).toContain('| model | batch | wasm-1w | wasm-2w | wasm-2w ÷ wasm-1w |\n');
    expect(alone).not.toContain('Training through fit, wasm-1w ÷ PyTorch');
  });

  it('falls back to the published reference figures, marked as such', () => {
    const pub = syntheticResult([okCell('train', 'torch-bn', 'wasm', 64, 730)], {
      reference: {
        kind: 'published',
        note: 'published',
        published: [{ model: 'torch-bn', task: 'train', batch: 64, samplesPerSec: 7300, source: 'issue' }],
      },
    });
    expect(renderMarkdown(pub)).toContain('| torch-bn | 64 | 730 ±2% | 0.100 (published ref.) |');
  });

  it('renders accuracy side by side', () => {
    const acc = syntheticResult([], {
      accuracy: [
        {
          model: 'torch-bn',
          status: 'ok',
          budget: { trainSamples: 3000, epochs: 1, batch: 64, backend: 'wasm', seconds: 12.4 },
          testSamples: 10000,
          tfjsAccuracy: 0.9512,
          onnxAccuracy: 0.9511,
          disagreement: 0.0001,
          maxAbsDiff: 2.5e-6,
          onnxProvider: 'cpu',
        },
        { model: 'vgg-cifar10', status: 'skipped', reason: 'quick profile' },
      ],
    });
    const md = renderMarkdown(acc);
    expect(md).toContain(
      '| torch-bn | 1 epoch × 3,000 images, batch 64, wasm, 12 s | 95.12% (10,000 test) | 95.11% (cpu) | 0.01% | 2.5e-6 |',
    );
    expect(md).toContain('| vgg-cifar10 | skipped [1] |');
  });
});
