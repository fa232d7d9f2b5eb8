import { describe, expect, it } from 'vitest';
import { logitsSpec } from './logits.js';
import { layerNames } from './names.js';
import { getPreset, presetNames } from './presets.js';
import { inferShapes } from './shapes.js';
import type { ModelSpec } from './spec.js';

describe('logitsSpec', () => {
  it.each(presetNames())('%s: drops the final softmax, keeps names and counts', (name) => {
    const { spec } = getPreset(name);
    const logits = logitsSpec(spec);
    expect(logits.layers.at(-1)).toMatchObject({ type: 'dense', units: spec.classes, activation: 'linear' });
    expect(layerNames(logits)).toEqual(layerNames(spec));
    expect(inferShapes(logits).totalParams).toBe(inferShapes(spec).totalParams);
    expect(spec.layers.at(-1)).toMatchObject({ activation: 'softmax' });
  });

  it('removes a trailing softmax activation layer', () => {
    const spec: ModelSpec = {
      name: 'x',
      input: [2, 2, 1],
      classes: 2,
      layers: [
        { type: 'flatten' },
        { type: 'dense', units: 2 },
        { type: 'activation', activation: 'softmax' },
      ],
    };
    expect(logitsSpec(spec).layers).toEqual([{ type: 'flatten' }, { type: 'dense', units: 2 }]);
  });

  it('refuses a spec without a final softmax, naming the last layer', () => {
    const spec = logitsSpec(getPreset('mlp2').spec);
    expect(() => logitsSpec(spec)).toThrow(
      'spec "mlp2": layers[2] (dense): does not end with a softmax, so it has no softmax to drop',
    );
  });
});
