import { describe, expect, it } from 'vitest';
import { checkOnnxModel } from './check.js';
import { toOnnxBytes } from './export.js';
import { decodeModel } from './proto/codec.js';
import type { ModelProto } from './proto/types.js';
import * as tf from './tfjs.js';

function lenetLike(): tf.LayersModel {
  const m = tf.sequential({ name: 'check_me' });
  m.add(tf.layers.conv2d({ inputShape: [12, 12, 1], filters: 2, kernelSize: 5, activation: 'tanh' }));
  m.add(tf.layers.batchNormalization());
  m.add(tf.layers.averagePooling2d({ poolSize: 2 }));
  m.add(tf.layers.flatten());
  m.add(tf.layers.dense({ units: 3, activation: 'softmax' }));
  return m;
}

const model = lenetLike();
const bytes = toOnnxBytes(model, { foldBatchNorm: false, preset: 'check_me', classNames: ['a', 'b', 'c'] });
const decoded = () => decodeModel(bytes);

describe('our own output decodes and passes the structural checks', () => {
  it('is valid with no errors', () => {
    const report = checkOnnxModel(bytes);
    expect(report.errors).toEqual([]);
    expect(report.valid).toBe(true);
  });

  it('states IR version, opset, producer, a dynamic batch dimension and the metadata', () => {
    const m = decoded();
    expect(m.ir_version).toBe(8);
    expect(m.opset_import).toEqual([{ domain: '', version: 17 }]);
    expect(m.producer_name).toBe('@lenet/onnx');
    expect(m.producer_version).toMatch(/^\d+\.\d+\.\d+/);
    const input = m.graph!.input![0];
    expect(input.name).toBe('input');
    expect(input.type!.tensor_type!.shape!.dim).toEqual([
      { dim_param: 'batch' },
      { dim_value: 1 },
      { dim_value: 12 },
      { dim_value: 12 },
    ]);
    expect(m.graph!.output![0].type!.tensor_type!.shape!.dim).toEqual([
      { dim_param: 'batch' },
      { dim_value: 3 },
    ]);
    const meta = Object.fromEntries(m.metadata_props!.map((p) => [p.key, p.value]));
    expect(meta).toMatchObject({
      'lenet.preset': 'check_me',
      'lenet.class_names': '["a","b","c"]',
      'lenet.input_layout': 'NCHW',
      'lenet.normalization': '"unit"',
      'lenet.output': 'probabilities',
    });
    expect(m.graph!.node!.map((n) => n.op_type)).toEqual([
      'Conv',
      'Tanh',
      'BatchNormalization',
      'AveragePool',
      'Flatten',
      'Gemm',
      'Softmax',
    ]);
  });

  it('the snake_case fields survive the round trip (the keepCase pitfall)', () => {
    const m = decoded();
    const conv = m.graph!.node![0];
    expect(conv.op_type).toBe('Conv');
    expect(conv.attribute!.map((a) => a.name)).toEqual([
      'kernel_shape',
      'strides',
      'dilations',
      'pads',
      'group',
    ]);
    expect(m.graph!.initializer![0].data_type).toBe(1);
    expect(m.graph!.initializer![0].raw_data!.length).toBe(2 * 1 * 5 * 5 * 4);
  });
});

describe('hand-broken models fail the checker', () => {
  const broken = (edit: (m: ModelProto) => void): string[] => {
    const m = decoded();
    edit(m);
    return checkOnnxModel(m).errors;
  };

  it('no IR version', () => {
    expect(broken((m) => delete m.ir_version)).toContain('ir_version must be set (>= 3), got 0');
  });
  it('no default opset', () => {
    expect(broken((m) => (m.opset_import = []))).toContain(
      'opset_import has no entry for the default ONNX domain',
    );
  });
  it('an input used before it is defined', () => {
    const errors = broken((m) => m.graph!.node!.reverse());
    expect(
      errors.some((e) =>
        /input ".*" is not a graph input, an initializer or an earlier node's output/.test(e),
      ),
    ).toBe(true);
  });
  it('an undefined input name', () => {
    const errors = broken((m) => (m.graph!.node![1].input = ['nowhere']));
    expect(errors).toContain(
      `node 1 "${decoded().graph!.node![1].name}" (Tanh): input "nowhere" is not a graph input, an initializer or an earlier node's output`,
    );
  });
  it('a value assigned twice', () => {
    const errors = broken((m) => (m.graph!.node![1].output = [...m.graph!.node![0].output!]));
    expect(errors.some((e) => e.includes('is already defined'))).toBe(true);
  });
  it('a graph output no node produces', () => {
    expect(broken((m) => (m.graph!.output![0].name = 'ghost'))).toContain(
      'graph output "ghost" is not produced by any node, input or initializer',
    );
  });
  it('an initializer whose data does not fit its dims', () => {
    const errors = broken((m) => (m.graph!.initializer![0].dims = [2, 1, 5, 4]));
    expect(errors.some((e) => e.includes('raw_data has 200 bytes, dims [2,1,5,4] need 160'))).toBe(true);
  });
  it('duplicate initializer and node names, attribute type mismatch, op newer than the opset', () => {
    const errors = broken((m) => {
      m.graph!.initializer![1].name = m.graph!.initializer![0].name;
      m.graph!.node![1].name = m.graph!.node![0].name;
      m.graph!.node![0].attribute![0].type = 2; // INT, but the value is in ints
      m.graph!.node![1].op_type = 'Mish'; // opset 18
    });
    expect(errors.some((e) => e.includes('name is used by another initializer'))).toBe(true);
    expect(errors.some((e) => e.includes('node name is used by another node'))).toBe(true);
    expect(
      errors.some((e) => e.includes('attribute "kernel_shape" has type 2 but its value is in ints')),
    ).toBe(true);
    expect(errors.some((e) => e.includes('Mish needs opset 18, model imports 17'))).toBe(true);
  });
  it('random bytes', () => {
    const junk = new Uint8Array(256).map((_, i) => (i * 97 + 13) % 251);
    const report = checkOnnxModel(junk);
    expect(report.valid).toBe(false);
    expect(report.errors[0]).toMatch(/not a valid ONNX model/);
  });
});
