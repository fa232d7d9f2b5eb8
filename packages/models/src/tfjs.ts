/**
 * TensorFlow.js as this package uses it: tfjs-core and tfjs-layers, the part of the umbrella
 * `@tensorflow/tfjs` that runs in Node (without its browser backend, converter and data packages),
 * and the cpu backend registered as the umbrella registered it, so a tensor made before any other
 * backend is chosen has one. Written by scripts/codemods/tfjs-core-layers.mjs.
 */
import '@tensorflow/tfjs-backend-cpu';

export * from '@tensorflow/tfjs-core';
export * from '@tensorflow/tfjs-layers';
