/**
 * onnxruntime-node, an optional peer dependency: imported on first use by `OnnxClassifier.load`
 * only, so exporting ONNX works where the runtime is not installed.
 */
import type * as Ort from 'onnxruntime-node';
import { OnnxError } from './errors.js';

/** The onnxruntime-node module. */
export type OnnxRuntime = typeof Ort;

/** Imports the runtime; a parameter so a test can stand in an import that fails. */
export type RuntimeImporter = () => Promise<OnnxRuntime>;

const importRuntime: RuntimeImporter = () => import('onnxruntime-node');

/**
 * The onnxruntime-node module, or an {@link OnnxError} `RUNTIME_MISSING` naming the package to
 * install when it cannot be imported (not installed, or its native binary missing).
 */
export async function loadOnnxRuntime(importer: RuntimeImporter = importRuntime): Promise<OnnxRuntime> {
  try {
    return await importer();
  } catch (err) {
    const reason = (err instanceof Error ? err.message : String(err)).split('\n')[0];
    throw new OnnxError(
      'RUNTIME_MISSING',
      `running an ONNX model needs onnxruntime-node, an optional peer dependency of @lenet/onnx that could not be loaded (${reason}); install it with: npm install onnxruntime-node`,
      { cause: err },
    );
  }
}
