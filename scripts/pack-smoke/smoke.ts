// Installed from packed tarballs into a fresh project: load MNIST, build LeNet-5, train a few
// batches on the wasm backend, export ONNX and predict with onnxruntime-node.
import { useBackend } from '@lenet/backend';
import { batches, loadMnist, subset } from '@lenet/datasets';
import { Accuracy } from '@lenet/metrics';
import { buildModel, getPreset, summary } from '@lenet/models';
import { exportOnnx, OnnxClassifier } from '@lenet/onnx';
import { evaluate, fit } from '@lenet/train';

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const info = await useBackend('wasm');
console.log(`backend: ${info.name}`);
const train = subset(await loadMnist({ split: 'train' }), range(2048));
const test = subset(await loadMnist({ split: 'test' }), range(1000));
const { spec } = getPreset('lenet5');
console.log(`model: ${spec.name}, ${summary(spec).totalParams} parameters`);
const model = buildModel(spec, { seed: 1 });
const result = await fit(model, train, { epochs: 1, batchSize: 64, seed: 1 });
console.log(`trained ${result.steps} batches, loss ${result.history[0].loss.toFixed(4)}`);
const tfEval = await evaluate(model, test);
console.log(`TensorFlow.js test accuracy: ${(tfEval.accuracy * 100).toFixed(2)}%`);

const path = `${process.cwd()}/lenet5.onnx`;
await exportOnnx(model, path, { classNames: test.classNames });
const classifier = await OnnxClassifier.load(path, { executionProviders: ['cpu'] });
const acc = new Accuracy(10);
for (const b of batches(test, { batchSize: 256, layout: 'NCHW' })) {
  const p = await classifier.predict(b.x, b.shape);
  acc.update(p.probabilities, b.y);
}
await classifier.dispose();
const ortAccuracy = acc.compute();
console.log(`ONNX Runtime test accuracy: ${(ortAccuracy * 100).toFixed(2)}%`);
if (tfEval.accuracy < 0.7) throw new Error(`accuracy ${tfEval.accuracy} is too low after one epoch`);
if (Math.abs(ortAccuracy - tfEval.accuracy) > 0.002) throw new Error('ONNX and TensorFlow.js disagree');
console.log('pack smoke test: ok');
