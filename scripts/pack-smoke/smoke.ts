// Installed from packed tarballs into a fresh project: load MNIST, build LeNet-5, train a few
// batches on the wasm backend, export ONNX and predict with onnxruntime-node.
import { useBackend } from '@lenet/backend';
import { head, loadMnist } from '@lenet/datasets';
import { getPreset, summary } from '@lenet/models';
import { buildModel } from '@lenet/models/tf';
import { exportOnnx, OnnxClassifier } from '@lenet/onnx';
import { evaluate, fit } from '@lenet/train';

const info = await useBackend('wasm');
console.log(`backend: ${info.name}`);
const train = head(await loadMnist({ split: 'train' }), 2048);
const test = head(await loadMnist({ split: 'test' }), 1000);
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
const ortAccuracy = (await evaluate(classifier, test)).accuracy;
await classifier.dispose();
console.log(`ONNX Runtime test accuracy: ${(ortAccuracy * 100).toFixed(2)}%`);
if (tfEval.accuracy < 0.7) throw new Error(`accuracy ${tfEval.accuracy} is too low after one epoch`);
if (Math.abs(ortAccuracy - tfEval.accuracy) > 0.002) throw new Error('ONNX and TensorFlow.js disagree');
console.log('pack smoke test: ok');
