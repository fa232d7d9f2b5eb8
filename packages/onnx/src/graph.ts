import { OnnxError } from './errors.js';
import { toFloat16Array } from './float16.js';
import type { ActivationOp, IrGraph, IrOp } from './ir.js';
import type { InputLayout } from './metadata.js';
import {
  type AttributeProto,
  AttributeType,
  DataType,
  type GraphProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from './proto/types.js';

/** Options of {@link irToGraph}. */
export interface EmitOptions {
  graphName: string;
  inputName: string;
  outputName: string;
  inputLayout: InputLayout;
  weightType: 'float32' | 'float16';
  /** Name of the symbolic (dynamic) batch dimension. */
  batchDim: string;
}

const encoder = new TextEncoder();

function attrInt(name: string, i: number): AttributeProto {
  return { name, type: AttributeType.INT, i };
}
function attrInts(name: string, ints: readonly number[]): AttributeProto {
  return { name, type: AttributeType.INTS, ints: [...ints] };
}
function attrFloat(name: string, f: number): AttributeProto {
  return { name, type: AttributeType.FLOAT, f };
}
function attrString(name: string, s: string): AttributeProto {
  return { name, type: AttributeType.STRING, s: encoder.encode(s) };
}

function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength));
}

/** A tensor-typed ValueInfoProto with fixed dims (numbers) or symbolic ones (strings). */
export function tensorValueInfo(
  name: string,
  dims: readonly (number | string)[],
  elemType: number = DataType.FLOAT,
): ValueInfoProto {
  return {
    name,
    type: {
      tensor_type: {
        elem_type: elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) },
      },
    },
  };
}

/** Collects nodes and initializers with unique names. */
class GraphWriter {
  readonly nodes: NodeProto[] = [];
  readonly casts: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  private readonly used = new Set<string>();

  constructor(private readonly weightType: 'float32' | 'float16') {}

  unique(base: string): string {
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }

  /** A float weight; stored as float16 plus a Cast to float when asked. Returns the float name. */
  weight(base: string, dims: number[], data: Float32Array): string {
    const name = this.unique(base);
    if (this.weightType === 'float32') {
      this.initializers.push({ name, dims, data_type: DataType.FLOAT, raw_data: bytesOf(data) });
      return name;
    }
    const half = this.unique(`${base}_fp16`);
    this.initializers.push({
      name: half,
      dims,
      data_type: DataType.FLOAT16,
      raw_data: bytesOf(toFloat16Array(data)),
    });
    this.casts.push({
      op_type: 'Cast',
      name: this.unique(`${base}_cast`),
      input: [half],
      output: [name],
      attribute: [attrInt('to', DataType.FLOAT)],
    });
    return name;
  }

  /** A constant that must stay exact (shapes, pads, clip bounds). */
  constant(base: string, dims: number[], data: BigInt64Array | Float32Array): string {
    const name = this.unique(base);
    const dataType = data instanceof BigInt64Array ? DataType.INT64 : DataType.FLOAT;
    this.initializers.push({ name, dims, data_type: dataType, raw_data: bytesOf(data) });
    return name;
  }

  node(opType: string, layer: string, inputs: string[], attributes: AttributeProto[] = []): string {
    const output = this.unique(`${layer}/${opType}`);
    this.nodes.push({
      op_type: opType,
      name: this.unique(`${layer}/${opType}_node`),
      input: inputs,
      output: [output],
      attribute: attributes,
    });
    return output;
  }
}

function emitActivation(g: GraphWriter, op: ActivationOp, x: string): string {
  const L = op.layer;
  switch (op.fn) {
    case 'relu':
      if (op.max == null) return g.node('Relu', L, [x]);
      return g.node('Clip', L, [
        x,
        g.constant(`${L}/clip_min`, [], new Float32Array([0])),
        g.constant(`${L}/clip_max`, [], new Float32Array([op.max])),
      ]);
    case 'relu6':
      return g.node('Clip', L, [
        x,
        g.constant(`${L}/clip_min`, [], new Float32Array([0])),
        g.constant(`${L}/clip_max`, [], new Float32Array([6])),
      ]);
    case 'leakyRelu':
      return g.node('LeakyRelu', L, [x], [attrFloat('alpha', op.alpha ?? 0.3)]);
    case 'elu':
      return g.node('Elu', L, [x], [attrFloat('alpha', op.alpha ?? 1)]);
    case 'selu':
      return g.node('Selu', L, [x]);
    case 'tanh':
      return g.node('Tanh', L, [x]);
    case 'sigmoid':
      return g.node('Sigmoid', L, [x]);
    case 'hardSigmoid':
      return g.node('HardSigmoid', L, [x], [attrFloat('alpha', 0.2), attrFloat('beta', 0.5)]);
    case 'softplus':
      return g.node('Softplus', L, [x]);
    case 'softsign':
      return g.node('Softsign', L, [x]);
    case 'swish':
      return g.node('Mul', L, [x, g.node('Sigmoid', L, [x])]);
    case 'mish':
      return g.node('Mul', L, [x, g.node('Tanh', L, [g.node('Softplus', L, [x])])]);
    case 'softmax':
      return g.node('Softmax', L, [x], [attrInt('axis', 1)]);
    case 'logSoftmax':
      return g.node('LogSoftmax', L, [x], [attrInt('axis', 1)]);
  }
}

function emitOp(g: GraphWriter, op: IrOp, x: string): string {
  const L = op.layer;
  switch (op.kind) {
    case 'conv': {
      const inputs = [x, g.weight(`${L}/W`, [...op.dims], op.weight)];
      if (op.bias) inputs.push(g.weight(`${L}/B`, [op.dims[0]], op.bias));
      return g.node('Conv', L, inputs, [
        attrInts('kernel_shape', [op.dims[2], op.dims[3]]),
        attrInts('strides', op.strides),
        attrInts('dilations', op.dilations),
        attrInts('pads', op.pads),
        attrInt('group', 1),
      ]);
    }
    case 'gemm': {
      const inputs = [x, g.weight(`${L}/W`, [op.inFeatures, op.outFeatures], op.weight)];
      if (op.bias) inputs.push(g.weight(`${L}/B`, [op.outFeatures], op.bias));
      return g.node('Gemm', L, inputs, [
        attrFloat('alpha', 1),
        attrFloat('beta', 1),
        attrInt('transA', 0),
        attrInt('transB', 0),
      ]);
    }
    case 'batchNorm': {
      const n = op.mean.length;
      return g.node(
        'BatchNormalization',
        L,
        [
          x,
          g.weight(`${L}/scale`, [n], op.gamma),
          g.weight(`${L}/bias`, [n], op.beta),
          g.weight(`${L}/mean`, [n], op.mean),
          g.weight(`${L}/var`, [n], op.variance),
        ],
        [attrFloat('epsilon', op.epsilon)],
      );
    }
    case 'activation':
      return emitActivation(g, op, x);
    case 'pad': {
      const [t, l, b, r] = op.pads;
      const pads = g.constant(`${L}/pads`, [8], BigInt64Array.from([0, 0, t, l, 0, 0, b, r].map(BigInt)));
      return g.node('Pad', L, [x, pads], [attrString('mode', 'constant')]);
    }
    case 'maxPool':
      return g.node(
        'MaxPool',
        L,
        [x],
        [attrInts('kernel_shape', op.kernel), attrInts('strides', op.strides), attrInts('pads', op.pads)],
      );
    case 'avgPool':
      return g.node(
        'AveragePool',
        L,
        [x],
        [
          attrInts('kernel_shape', op.kernel),
          attrInts('strides', op.strides),
          attrInts('pads', op.pads),
          attrInt('count_include_pad', 0),
        ],
      );
    case 'globalAvgPool':
      return g.node('Flatten', L, [g.node('GlobalAveragePool', L, [x])], [attrInt('axis', 1)]);
    case 'flatten': {
      const input = op.toChannelsLast ? g.node('Transpose', L, [x], [attrInts('perm', [0, 2, 3, 1])]) : x;
      return g.node('Flatten', L, [input], [attrInt('axis', 1)]);
    }
  }
}

/** Writes the intermediate chain out as an ONNX graph with a dynamic batch dimension. */
export function irToGraph(ir: IrGraph, options: EmitOptions): GraphProto {
  const g = new GraphWriter(options.weightType);
  const [h, w, c] = ir.inputHwc;
  const input = g.unique(options.inputName);
  const inputDims =
    options.inputLayout === 'NCHW' ? [options.batchDim, c, h, w] : [options.batchDim, h, w, c];
  let x = input;
  if (options.inputLayout === 'NHWC') x = g.node('Transpose', 'input', [x], [attrInts('perm', [0, 3, 1, 2])]);
  for (const op of ir.ops) x = emitOp(g, op, x);
  const last = g.nodes[g.nodes.length - 1];
  if (!last || last.output?.[0] !== x) {
    g.node('Identity', 'output', [x]);
  }
  const final = g.nodes[g.nodes.length - 1];
  if (
    g.nodes.some((n) => n !== final && n.output?.includes(options.outputName)) ||
    options.outputName === input
  ) {
    throw new OnnxError(
      'INVALID_OPTION',
      `output name "${options.outputName}" clashes with another value in the graph`,
    );
  }
  final.output = [options.outputName];
  return {
    name: options.graphName,
    node: [...g.casts, ...g.nodes],
    initializer: g.initializers,
    input: [tensorValueInfo(input, inputDims)],
    output: [tensorValueInfo(options.outputName, [options.batchDim, ir.outputs])],
  };
}
