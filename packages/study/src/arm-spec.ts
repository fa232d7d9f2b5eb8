// The network an arm trains: its preset adapted to the study's data, or its inline spec checked
// against that data. Validation (with the class count a folder will have unknown) and planning
// (with it known) both go through here, so a study that validates plans the same networks.
import type { DatasetName } from '@lenet/datasets';
import { checkSpecLimits, getPreset, type ModelSpec, presetNames } from '@lenet/models';

/** Input shape and class count of the data sets whose images have one size. */
const FIXED_SHAPES: Partial<Record<DatasetName, { input: [number, number, number]; classes: number }>> = {
  mnist: { input: [28, 28, 1], classes: 10 },
  'fashion-mnist': { input: [28, 28, 1], classes: 10 },
  kmnist: { input: [28, 28, 1], classes: 10 },
  cifar10: { input: [32, 32, 3], classes: 10 },
  // Fine labels: what the CIFAR-100 loader (and so a job) gives by default.
  cifar100: { input: [32, 32, 3], classes: 100 },
};

/** The data sets that are not bundled: a study of them needs a data directory. */
export const NEEDS_DATA_DIR: readonly DatasetName[] = ['kmnist', 'cifar10', 'cifar100', 'folder'];

/** What the arm's network must fit: the data set's input and classes (either unknown for a folder). */
export interface DataShape {
  dataset: DatasetName;
  /** The study's `input` for a folder; the data set's own for the others. */
  input?: [number, number, number];
  /** Unknown for a folder until its directory is listed. */
  classes?: number;
}

/** The shape a fixed-size data set has, or only the study's input for a folder. */
export function dataShape(dataset: DatasetName, input?: [number, number, number]): DataShape {
  const fixed = FIXED_SHAPES[dataset];
  return fixed ? { dataset, ...fixed } : { dataset, ...(input ? { input } : {}) };
}

/** A problem with an arm's model, in words (the caller names the study and the field). */
export class ArmModelProblem extends Error {}

const dims = (s: readonly number[]): string => s.join('x');

/**
 * The spec `model` (a preset name or an inline spec) trains on data of `shape`: a preset adapted to
 * the input and classes (a folder's input defaulting to the preset's own size in RGB), an inline
 * spec as it is once its input and classes match. Its shapes are inferred and its size checked.
 * @throws ArmModelProblem saying what is wrong.
 */
export function armSpec(model: string | ModelSpec, shape: DataShape): ModelSpec {
  let spec: ModelSpec;
  try {
    if (typeof model === 'string') {
      if (!(presetNames() as string[]).includes(model))
        throw new ArmModelProblem(`unknown preset '${model}' (known: ${presetNames().join(', ')})`);
      const [h, w] = getPreset(model).spec.input;
      const input = shape.input ?? [h, w, 3];
      spec = getPreset(model, {
        input,
        ...(shape.classes === undefined ? {} : { classes: shape.classes }),
      }).spec;
    } else {
      spec = model;
      if (shape.input && dims(spec.input) !== dims(shape.input))
        throw new ArmModelProblem(
          `the spec's input ${dims(spec.input)} does not match the ${shape.dataset} images (${dims(shape.input)})`,
        );
      if (shape.classes !== undefined && spec.classes !== shape.classes)
        throw new ArmModelProblem(
          `the spec has ${spec.classes} classes, the ${shape.dataset} data ${shape.classes}`,
        );
    }
    checkSpecLimits(spec);
  } catch (e) {
    if (e instanceof ArmModelProblem) throw e;
    throw new ArmModelProblem((e as Error).message, { cause: e });
  }
  return spec;
}
