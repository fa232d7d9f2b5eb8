/**
 * Plain-object views of the ONNX protobuf messages, with the official snake_case field names.
 * int64 fields are JavaScript numbers (every value this package meets is far below 2^53).
 */

/** `onnx.TensorProto.DataType` values used here. */
export const DataType = {
  UNDEFINED: 0,
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
} as const;

/** `onnx.AttributeProto.AttributeType` values used here. */
export const AttributeType = {
  UNDEFINED: 0,
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
} as const;

/** `onnx.StringStringEntryProto`. */
export interface StringStringEntry {
  key: string;
  value: string;
}

/** `onnx.OperatorSetIdProto`. */
export interface OperatorSetId {
  domain?: string;
  version: number;
}

/** `onnx.TensorProto` (dense, in-file data only). */
export interface TensorProto {
  name?: string;
  dims?: number[];
  data_type?: number;
  raw_data?: Uint8Array;
  float_data?: number[];
  int32_data?: number[];
  int64_data?: number[];
  double_data?: number[];
  uint64_data?: number[];
  string_data?: Uint8Array[];
  data_location?: number;
  external_data?: StringStringEntry[];
  doc_string?: string;
}

/** `onnx.AttributeProto`. */
export interface AttributeProto {
  name: string;
  type: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: TensorProto;
  g?: GraphProto;
  floats?: number[];
  ints?: number[];
  strings?: Uint8Array[];
  ref_attr_name?: string;
  doc_string?: string;
}

/** `onnx.NodeProto`. */
export interface NodeProto {
  input?: string[];
  output?: string[];
  name?: string;
  op_type: string;
  domain?: string;
  attribute?: AttributeProto[];
  doc_string?: string;
}

/** `onnx.TensorShapeProto.Dimension`: a fixed size, a symbolic name, or unknown. */
export interface Dimension {
  dim_value?: number;
  dim_param?: string;
  denotation?: string;
}

/** `onnx.TypeProto` (tensor types only). */
export interface TypeProto {
  tensor_type?: { elem_type?: number; shape?: { dim?: Dimension[] } };
  denotation?: string;
}

/** `onnx.ValueInfoProto`. */
export interface ValueInfoProto {
  name: string;
  type?: TypeProto;
  doc_string?: string;
}

/** `onnx.GraphProto`. */
export interface GraphProto {
  name?: string;
  node?: NodeProto[];
  initializer?: TensorProto[];
  input?: ValueInfoProto[];
  output?: ValueInfoProto[];
  value_info?: ValueInfoProto[];
  doc_string?: string;
}

/** `onnx.ModelProto`. */
export interface ModelProto {
  ir_version?: number;
  opset_import?: OperatorSetId[];
  producer_name?: string;
  producer_version?: string;
  domain?: string;
  model_version?: number;
  doc_string?: string;
  graph?: GraphProto;
  metadata_props?: StringStringEntry[];
}
