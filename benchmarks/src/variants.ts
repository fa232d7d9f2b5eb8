import { getPreset, type ModelSpec } from '@lenet/models';

/** The variants made here from a preset (the ablations the reports ask about that have no preset). */
const DERIVED: Record<string, { from: string; describe: string; transform: (spec: ModelSpec) => ModelSpec }> =
  {
    'torch-bn-nodropout': {
      from: 'torch-bn',
      describe: 'torch-bn with its Dropout(0.75) layers removed (dropout off)',
      transform: (spec) => ({
        ...spec,
        name: 'torch-bn-nodropout',
        description: 'torch-bn with its Dropout(0.75) layers removed (dropout off)',
        layers: spec.layers.filter((l) => l.type !== 'dropout'),
      }),
    },
  };

/** The spec of a benchmark variant: a `@lenet/models` preset, or one derived here from a preset. */
export function variantSpec(name: string): ModelSpec {
  const derived = DERIVED[name];
  if (derived) return derived.transform(getPreset(derived.from).spec);
  return getPreset(name).spec;
}

/** A one-line description of a variant. */
export function variantDescription(name: string): string {
  return DERIVED[name]?.describe ?? getPreset(name).spec.description ?? name;
}
