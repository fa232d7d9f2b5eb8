/** @lenet/onnx public API. */
export const packageName = '@lenet/onnx';
