import { OnnxError } from '../errors.js';
import { ModelProtoType } from './onnx-schema.js';
import type { ModelProto } from './types.js';

/** Serialises a model to the ONNX binary (protobuf) format. */
export function encodeModel(model: ModelProto): Uint8Array {
  const problem = ModelProtoType.verify(model);
  if (problem) throw new OnnxError('UNSUPPORTED_MODEL', `cannot encode ONNX model: ${problem}`);
  return ModelProtoType.encode(ModelProtoType.fromObject(model)).finish();
}

/**
 * Parses ONNX binary bytes into plain objects (int64 → number, bytes → Uint8Array).
 * `what` names the source in the error message. Throws when the bytes are not a ModelProto
 * with a graph.
 */
export function decodeModel(bytes: Uint8Array, what = 'ONNX model'): ModelProto {
  let message: ReturnType<typeof ModelProtoType.decode>;
  try {
    message = ModelProtoType.decode(bytes);
  } catch (err) {
    throw new OnnxError(
      'INVALID_MODEL_FILE',
      `${what} is not a valid ONNX model (protobuf decoding failed: ${(err as Error).message})`,
      { cause: err },
    );
  }
  const model = ModelProtoType.toObject(message, {
    longs: Number,
    arrays: false,
    defaults: false,
  }) as ModelProto;
  if (!model.graph || !model.ir_version) {
    throw new OnnxError(
      'INVALID_MODEL_FILE',
      `${what} is not a valid ONNX model (expected a ModelProto with ir_version and a graph; found ${
        model.graph ? 'no ir_version' : 'no graph'
      })`,
    );
  }
  return model;
}
