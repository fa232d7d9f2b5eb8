import { SpecError } from './errors.js';
import type { ModelSpec } from './spec.js';
import { validateSpec } from './validate.js';

/**
 * The same network without its final softmax, so it outputs logits (for a softmax-cross-entropy
 * loss or an ONNX "logits" graph). Every preset ends with a `dense` of `classes` units and
 * `activation: 'softmax'`; this returns a copy where that dense is linear (or, if the spec ends
 * with a stand-alone softmax `activation` layer, without that layer). Layer names are unchanged,
 * so weights trained with either form load into the other.
 * @throws SpecError when the spec does not end with a softmax.
 */
export function logitsSpec(spec: ModelSpec): ModelSpec {
  const s = validateSpec(spec);
  const lastIndex = s.layers.length - 1;
  const last = s.layers[lastIndex];
  if (last.type === 'dense' && last.activation === 'softmax') {
    s.layers[lastIndex] = { ...last, activation: 'linear' };
    return s;
  }
  if (last.type === 'activation' && last.activation === 'softmax' && lastIndex > 0) {
    s.layers.pop();
    return s;
  }
  throw new SpecError('does not end with a softmax, so it has no softmax to drop', {
    specName: s.name,
    layerIndex: lastIndex,
    layerType: last.type,
  });
}
