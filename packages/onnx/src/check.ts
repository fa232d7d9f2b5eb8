import { decodeModel } from './proto/codec.js';
import {
  type AttributeProto,
  AttributeType,
  DataType,
  type ModelProto,
  type TensorProto,
  type ValueInfoProto,
} from './proto/types.js';

/** Result of {@link checkOnnxModel}: `errors` make the model invalid, `warnings` do not. */
export interface OnnxCheckReport {
  valid: boolean;
  errors: string[];
  warnings: string[];
}

/** Highest IR version this checker knows. */
const MAX_IR_VERSION = 11;

/** Bytes per element of fixed-size types (for raw_data size checks). */
const ELEMENT_BYTES: Record<number, number> = {
  [DataType.FLOAT]: 4,
  [DataType.UINT8]: 1,
  [DataType.INT8]: 1,
  [DataType.UINT16]: 2,
  [DataType.INT16]: 2,
  [DataType.INT32]: 4,
  [DataType.INT64]: 8,
  [DataType.BOOL]: 1,
  [DataType.FLOAT16]: 2,
  [DataType.DOUBLE]: 8,
  [DataType.UINT32]: 4,
  [DataType.UINT64]: 8,
  16: 2, // BFLOAT16
};

/** Operators of the default domain and the opset that introduced them (the ones a CNN uses). */
const KNOWN_OPS: Record<string, number> = {
  Abs: 1,
  Add: 1,
  AveragePool: 1,
  BatchNormalization: 1,
  Cast: 1,
  Clip: 1,
  Concat: 1,
  Constant: 1,
  Conv: 1,
  ConvTranspose: 1,
  Div: 1,
  Dropout: 1,
  Elu: 1,
  Erf: 9,
  Exp: 1,
  Flatten: 1,
  Gather: 1,
  Gelu: 20,
  Gemm: 1,
  GlobalAveragePool: 1,
  GlobalMaxPool: 1,
  HardSigmoid: 1,
  HardSwish: 14,
  Identity: 1,
  LeakyRelu: 1,
  Log: 1,
  LogSoftmax: 1,
  LRN: 1,
  MatMul: 1,
  Max: 1,
  MaxPool: 1,
  Mean: 1,
  Min: 1,
  Mish: 18,
  Mul: 1,
  Neg: 1,
  Pad: 1,
  Pow: 1,
  PRelu: 1,
  ReduceMean: 1,
  ReduceSum: 1,
  Relu: 1,
  Reshape: 1,
  Resize: 10,
  Selu: 1,
  Shape: 1,
  Sigmoid: 1,
  Slice: 1,
  Softmax: 1,
  Softplus: 1,
  Softsign: 1,
  Split: 1,
  Sqrt: 1,
  Squeeze: 1,
  Sub: 1,
  Sum: 1,
  Tanh: 1,
  Transpose: 1,
  Unsqueeze: 1,
};

const ATTRIBUTE_FIELDS: Record<number, keyof AttributeProto> = {
  [AttributeType.FLOAT]: 'f',
  [AttributeType.INT]: 'i',
  [AttributeType.STRING]: 's',
  [AttributeType.TENSOR]: 't',
  [AttributeType.GRAPH]: 'g',
  [AttributeType.FLOATS]: 'floats',
  [AttributeType.INTS]: 'ints',
  [AttributeType.STRINGS]: 'strings',
};

function elementCount(dims: number[] | undefined): number {
  return (dims ?? []).reduce((a, b) => a * b, 1);
}

function checkTensor(t: TensorProto, where: string, errors: string[]): void {
  if (!t.data_type) {
    errors.push(`${where}: data_type is not set`);
    return;
  }
  if ((t.dims ?? []).some((d) => !Number.isInteger(d) || d < 0))
    errors.push(`${where}: dims must be non-negative integers`);
  if (t.data_location === 1) return; // external data: sizes live elsewhere
  const count = elementCount(t.dims);
  const fields = (
    [
      'raw_data',
      'float_data',
      'int32_data',
      'int64_data',
      'double_data',
      'uint64_data',
      'string_data',
    ] as const
  ).filter((f) => t[f] !== undefined && (t[f] as ArrayLike<unknown>).length > 0);
  if (fields.length > 1) errors.push(`${where}: data in more than one field (${fields.join(', ')})`);
  if (fields.length === 0) {
    if (count !== 0) errors.push(`${where}: no data for ${count} elements`);
    return;
  }
  const field = fields[0];
  if (field === 'raw_data') {
    const size = ELEMENT_BYTES[t.data_type];
    if (t.data_type === DataType.STRING) errors.push(`${where}: STRING tensors cannot use raw_data`);
    else if (size && t.raw_data!.length !== count * size) {
      errors.push(
        `${where}: raw_data has ${t.raw_data!.length} bytes, dims ${JSON.stringify(t.dims ?? [])} need ${count * size}`,
      );
    }
  } else if ((t[field] as ArrayLike<unknown>).length !== count) {
    errors.push(
      `${where}: ${field} has ${(t[field] as ArrayLike<unknown>).length} values, dims need ${count}`,
    );
  }
}

function checkValueInfo(v: ValueInfoProto, where: string, errors: string[]): void {
  if (!v.name) errors.push(`${where}: name is empty`);
  const tensor = v.type?.tensor_type;
  if (!v.type) errors.push(`${where} "${v.name}": type is not set`);
  else if (tensor && !tensor.elem_type) errors.push(`${where} "${v.name}": tensor elem_type is not set`);
  for (const [i, d] of (tensor?.shape?.dim ?? []).entries()) {
    if (d.dim_value !== undefined && d.dim_value < 0)
      errors.push(`${where} "${v.name}": dimension ${i} is negative`);
  }
}

function checkAttribute(a: AttributeProto, where: string, errors: string[]): void {
  if (!a.name) errors.push(`${where}: attribute without a name`);
  const field = ATTRIBUTE_FIELDS[a.type];
  if (!a.type || !field) {
    if (!a.ref_attr_name)
      errors.push(`${where}: attribute "${a.name}" has no (or an unsupported) type ${a.type}`);
    return;
  }
  const present = Object.values(ATTRIBUTE_FIELDS).filter((f) => {
    const v = a[f];
    return v !== undefined && !(Array.isArray(v) && v.length === 0);
  });
  if (present.length > 1)
    errors.push(`${where}: attribute "${a.name}" sets more than one value field (${present.join(', ')})`);
  const isList = a.type >= AttributeType.FLOATS;
  if (!isList && present[0] !== field) {
    errors.push(
      `${where}: attribute "${a.name}" has type ${a.type} but its value is in ${present[0] ?? 'no field'}`,
    );
  }
}

/**
 * Structural checks on an ONNX model, after `onnx.checker.check_model`: IR version set, the
 * default opset imported, initializers well-formed, every node input defined before use (graph
 * input, initializer or an earlier node's output), every value produced once, names unique,
 * attributes typed, graph outputs produced. Accepts the file's bytes or a decoded model.
 */
export function checkOnnxModel(source: Uint8Array | ModelProto): OnnxCheckReport {
  const errors: string[] = [];
  const warnings: string[] = [];
  let model: ModelProto;
  if (source instanceof Uint8Array) {
    try {
      model = decodeModel(source);
    } catch (err) {
      return { valid: false, errors: [(err as Error).message], warnings };
    }
  } else {
    model = source;
  }

  const ir = model.ir_version ?? 0;
  if (ir < 3) errors.push(`ir_version must be set (>= 3), got ${ir}`);
  else if (ir > MAX_IR_VERSION)
    warnings.push(`ir_version ${ir} is newer than this checker knows (${MAX_IR_VERSION})`);

  const opsets = new Map<string, number>();
  for (const o of model.opset_import ?? []) {
    const domain = o.domain === 'ai.onnx' ? '' : (o.domain ?? '');
    if (opsets.has(domain)) errors.push(`opset_import lists domain "${domain}" twice`);
    if (!(o.version >= 1)) errors.push(`opset_import for domain "${domain}" has version ${o.version}`);
    opsets.set(domain, o.version);
  }
  if (!opsets.has('')) errors.push('opset_import has no entry for the default ONNX domain');
  const opset = opsets.get('') ?? 0;

  const keys = new Set<string>();
  for (const p of model.metadata_props ?? []) {
    if (keys.has(p.key)) errors.push(`metadata_props key "${p.key}" is repeated`);
    keys.add(p.key);
  }

  const graph = model.graph;
  if (!graph) return { valid: false, errors: [...errors, 'model has no graph'], warnings };
  if (!graph.name) errors.push('graph name is empty');

  const defined = new Set<string>();
  const initializerNames = new Set<string>();
  for (const [i, t] of (graph.initializer ?? []).entries()) {
    const where = `initializer ${i}${t.name ? ` "${t.name}"` : ''}`;
    if (!t.name) errors.push(`${where}: name is empty`);
    else if (initializerNames.has(t.name)) errors.push(`${where}: name is used by another initializer`);
    initializerNames.add(t.name ?? '');
    checkTensor(t, where, errors);
  }
  const inputNames = new Set<string>();
  for (const [i, v] of (graph.input ?? []).entries()) {
    checkValueInfo(v, `graph input ${i}`, errors);
    if (inputNames.has(v.name)) errors.push(`graph input "${v.name}" is listed twice`);
    inputNames.add(v.name);
    if (initializerNames.has(v.name) && ir >= 4)
      warnings.push(`graph input "${v.name}" is also an initializer`);
  }
  for (const n of [...inputNames, ...initializerNames]) defined.add(n);

  const nodeNames = new Set<string>();
  for (const [i, node] of (graph.node ?? []).entries()) {
    const where = `node ${i}${node.name ? ` "${node.name}"` : ''} (${node.op_type || 'no op_type'})`;
    if (!node.op_type) errors.push(`${where}: op_type is empty`);
    if (node.name) {
      if (nodeNames.has(node.name)) errors.push(`${where}: node name is used by another node`);
      nodeNames.add(node.name);
    }
    const domain = node.domain === 'ai.onnx' ? '' : (node.domain ?? '');
    if (!opsets.has(domain)) errors.push(`${where}: domain "${domain}" is not in opset_import`);
    else if (domain === '' && node.op_type) {
      const since = KNOWN_OPS[node.op_type];
      if (since === undefined) warnings.push(`${where}: operator not in this checker's table (not verified)`);
      else if (since > opset)
        errors.push(`${where}: ${node.op_type} needs opset ${since}, model imports ${opset}`);
    }
    for (const input of node.input ?? []) {
      if (input !== '' && !defined.has(input))
        errors.push(
          `${where}: input "${input}" is not a graph input, an initializer or an earlier node's output`,
        );
    }
    if ((node.output ?? []).length === 0) errors.push(`${where}: has no outputs`);
    for (const output of node.output ?? []) {
      if (output === '') continue;
      if (defined.has(output))
        errors.push(`${where}: output "${output}" is already defined (values must be assigned once)`);
      defined.add(output);
    }
    const attrNames = new Set<string>();
    for (const a of node.attribute ?? []) {
      if (attrNames.has(a.name)) errors.push(`${where}: attribute "${a.name}" is repeated`);
      attrNames.add(a.name);
      checkAttribute(a, where, errors);
      if (a.t) checkTensor(a.t, `${where} attribute "${a.name}"`, errors);
    }
  }

  if ((graph.output ?? []).length === 0) errors.push('graph has no outputs');
  for (const [i, v] of (graph.output ?? []).entries()) {
    checkValueInfo(v, `graph output ${i}`, errors);
    if (v.name && !defined.has(v.name))
      errors.push(`graph output "${v.name}" is not produced by any node, input or initializer`);
  }
  return { valid: errors.length === 0, errors, warnings };
}
