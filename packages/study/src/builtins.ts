// The built-in studies: every comparative question the five reference reports ask (see
// docs/reproduce.md), each answered with several seeds instead of one run.
import { getPreset, type ModelSpec } from '@lenet/models';
import { validateStudy } from './definition.js';
import { StudyError } from './errors.js';
import type { StudyBudget, StudyDefinition } from './types.js';

/** Seeds 0..4: five runs per arm, the fewest that give a confidence interval worth reading. */
const SEEDS = [0, 1, 2, 3, 4];

// MNIST studies: one epoch on all 60,000 training images with the reports' own kind of training
// (PyTorch's and Keras's Adam defaults, pixels / 255), tested on all 10,000 test images. With the
// CLI's recipe instead (one-cycle to 4e-3, label smoothing, standardised pixels) torch-nobn stayed
// at chance on every seed even on 30,000 images; with this one it learns (46-66 % on 30,000).
// `lenet study run report-002-batchnorm` (10 jobs, 2 processes): about 5 minutes on 2 cores.
const MNIST_BUDGET: StudyBudget = { epochs: 1 };

/** How the reports trained on MNIST: Adam at 1e-3, constant, no label smoothing, pixels / 255. */
const MNIST_RECIPE = {
  validationFraction: 0,
  optimizer: 'adam',
  learningRate: 1e-3,
  schedule: 'constant',
  labelSmoothing: 0,
  normalize: 'unit',
} as const;

// Image-folder studies train at the reports' 256x256 on the user's own folder (its size is not
// known here): three epochs, every image; --epochs and --train-limit cut them down.
const FOLDER_BUDGET: StudyBudget = { epochs: 3 };

/**
 * The `lenet train` defaults without the validation split: a study compares test accuracy, so
 * every training image trains.
 */
const RECIPE = { validationFraction: 0 };

/** `torch-bn` without its three Dropout(0.75) layers: the net report 000 compared it with. */
function torchBnWithoutDropout(): ModelSpec {
  const { spec } = getPreset('torch-bn');
  return {
    ...spec,
    name: 'torch-bn-no-dropout',
    description: `${spec.description} Without its Dropout layers.`,
    layers: spec.layers.filter((l) => l.type !== 'dropout'),
  };
}

function mnist(study: Omit<StudyDefinition, 'dataset' | 'recipe' | 'budget' | 'seeds'>): StudyDefinition {
  return { ...study, dataset: 'mnist', recipe: MNIST_RECIPE, budget: MNIST_BUDGET, seeds: SEEDS };
}

function folder(
  study: Omit<StudyDefinition, 'dataset' | 'recipe' | 'budget' | 'seeds' | 'input'>,
): StudyDefinition {
  return {
    ...study,
    dataset: 'folder',
    // Reports 001 and 003 resized the animal images to 256x256 RGB.
    input: [256, 256, 3],
    recipe: RECIPE,
    budget: FOLDER_BUDGET,
    seeds: SEEDS,
  };
}

function definitions(): StudyDefinition[] {
  return [
    mnist({
      name: 'report-000-dropout',
      description:
        "Report 000's PyTorch net (3 conv + 3 FC, BatchNorm) with and without Dropout(0.75) after each convolution, on MNIST.",
      answers: { report: '000', question: 'Does Dropout make the BatchNorm net more accurate?' },
      arms: [
        {
          name: 'dropout',
          description: 'torch-bn as published: Dropout(0.75) after each conv BatchNorm',
          model: 'torch-bn',
        },
        {
          name: 'no-dropout',
          description: 'torch-bn with its Dropout layers removed',
          model: torchBnWithoutDropout(),
        },
      ],
      comparisons: [{ a: 'dropout', b: 'no-dropout', question: 'Does Dropout(0.75) raise test accuracy?' }],
    }),
    mnist({
      name: 'report-002-batchnorm',
      description:
        "Report 002's PyTorch net (3 conv + 3 FC, Dropout 0.75) with and without BatchNorm, on MNIST. Report 000 asks the same.",
      answers: {
        report: '002',
        question: 'Does BatchNorm make the net more accurate? (the text says yes, its logs say no)',
      },
      arms: [
        {
          name: 'bn',
          description: 'torch-bn: BatchNorm after every conv and hidden dense layer',
          model: 'torch-bn',
        },
        { name: 'no-bn', description: 'torch-nobn: the same net without BatchNorm', model: 'torch-nobn' },
      ],
      comparisons: [{ a: 'bn', b: 'no-bn', question: 'Does BatchNorm raise test accuracy?' }],
    }),
    mnist({
      name: 'report-002-conv-depth',
      description:
        "Report 002's net with three convolution blocks against two (the third block removed), on MNIST. Report 000 asks the same.",
      answers: {
        report: '002',
        question: 'Do two convolutions beat three on 28x28 images (a 6x6 feature map left instead of 2x2)?',
      },
      arms: [
        { name: '3conv-3fc', description: 'torch-bn: three conv blocks, three FC layers', model: 'torch-bn' },
        {
          name: '2conv-3fc',
          description: 'torch-2conv3fc: the third conv block removed',
          model: 'torch-2conv3fc',
        },
      ],
      comparisons: [
        {
          a: '2conv-3fc',
          b: '3conv-3fc',
          question: 'Does removing the third convolution raise test accuracy?',
        },
      ],
    }),
    mnist({
      name: 'report-002-fc-depth',
      description:
        "Report 002's two-convolution net with three fully connected layers against two (the 48-unit layer removed), on MNIST.",
      answers: { report: '002', question: 'Does removing a fully connected layer cost accuracy?' },
      arms: [
        {
          name: '2conv-3fc',
          description: 'torch-2conv3fc: FC layers of 128, 48 and 10 units',
          model: 'torch-2conv3fc',
        },
        {
          name: '2conv-2fc',
          description: 'torch-2conv2fc: FC layers of 128 and 10 units',
          model: 'torch-2conv2fc',
        },
      ],
      comparisons: [
        { a: '2conv-3fc', b: '2conv-2fc', question: 'Does the third FC layer raise test accuracy?' },
      ],
    }),
    mnist({
      name: 'report-004-batchnorm',
      description:
        "Report 004's Keras baseline (3 conv + 3 dense) with and without BatchNorm after each convolution, on MNIST.",
      answers: { report: '004', question: 'Does BatchNorm improve a baseline that is already strong?' },
      arms: [
        { name: 'baseline', description: 'keras-baseline (97,482 params)', model: 'keras-baseline' },
        {
          name: 'bn',
          description: 'keras-bn: BatchNorm after each convolution (98,122 params)',
          model: 'keras-bn',
        },
      ],
      comparisons: [{ a: 'bn', b: 'baseline', question: 'Does BatchNorm raise test accuracy?' }],
    }),
    mnist({
      name: 'report-004-depth',
      description:
        "Report 004's Keras baseline (3 conv) against a shallower (2 conv) and a deeper (4 conv) variant, on MNIST.",
      answers: {
        report: '004',
        question: 'Does a shallower or a deeper net change accuracy from the baseline?',
      },
      arms: [
        { name: 'baseline', description: 'keras-baseline: three convolutions', model: 'keras-baseline' },
        {
          name: 'shallow',
          description: 'keras-shallow: two convolutions (224,394 params)',
          model: 'keras-shallow',
        },
        { name: 'deep', description: 'keras-deep: four convolutions (101,642 params)', model: 'keras-deep' },
      ],
      comparisons: [
        { a: 'shallow', b: 'baseline', question: 'Does removing a convolution change test accuracy?' },
        { a: 'deep', b: 'baseline', question: 'Does adding a convolution change test accuracy?' },
      ],
    }),
    folder({
      name: 'report-001-lenet50-vs-lenet5',
      description:
        'Report 001\'s Keras "LeNet" (9 conv, BatchNorm, Dropout, 5 dense) against LeNet-5 on the 50-class animal image folder at 256x256 RGB. Needs the folder (--data).',
      answers: {
        report: '001',
        question:
          'Does the deeper Keras "LeNet" learn the 50-class folder better than LeNet-5 (32% against 3% in the report)?',
      },
      arms: [
        { name: 'lenet50', description: 'folder-lenet50 (1,760,902 params)', model: 'folder-lenet50' },
        { name: 'lenet5', description: 'lenet5 adapted to 256x256x3', model: 'lenet5' },
      ],
      comparisons: [{ a: 'lenet50', b: 'lenet5', question: 'Does the Keras "LeNet" beat LeNet-5?' }],
    }),
    folder({
      name: 'report-001-learning-rate',
      description:
        'Report 001\'s Keras "LeNet" on the 50-class image folder with the default peak learning rate (4e-3) and one ten times lower. Needs the folder (--data).',
      answers: {
        report: '001',
        question:
          'Does a lower learning rate help the folder net (the author lowered it and stayed under 40%)?',
      },
      arms: [
        {
          name: 'lr-4e-3',
          description: 'folder-lenet50, one-cycle to 4e-3 (the default)',
          model: 'folder-lenet50',
        },
        {
          name: 'lr-4e-4',
          description: 'folder-lenet50, one-cycle to 4e-4',
          model: 'folder-lenet50',
          recipe: { learningRate: 4e-4 },
        },
      ],
      comparisons: [
        { a: 'lr-4e-4', b: 'lr-4e-3', question: 'Does the lower learning rate raise test accuracy?' },
      ],
    }),
    folder({
      name: 'report-003-lenet5-vs-mlp',
      description:
        "Report 003's LeNet-5 against its two-layer fully connected net on the 50-class image folder at 256x256 RGB. Needs the folder (--data).",
      answers: {
        report: '003',
        question:
          'Does LeNet-5 learn the 50-class folder better than a two-layer net (both near chance in the report)?',
      },
      arms: [
        { name: 'lenet5', description: 'lenet5 adapted to 256x256x3', model: 'lenet5' },
        { name: 'mlp2', description: 'mlp2: one hidden layer of 100 units', model: 'mlp2' },
      ],
      comparisons: [{ a: 'lenet5', b: 'mlp2', question: 'Does LeNet-5 beat the two-layer net?' }],
    }),
  ];
}

let cache: StudyDefinition[] | undefined;

function builtins(): StudyDefinition[] {
  cache ??= definitions().map((d) => validateStudy(d, `built-in study ${d.name}`));
  return cache;
}

/** The built-in studies, one per comparative question of the reference reports (copies, to change freely). */
export function listStudies(): StudyDefinition[] {
  return structuredClone(builtins());
}

/**
 * The built-in study `name` (a copy).
 * @throws StudyError `STUDY_UNKNOWN` listing the names.
 */
export function getStudy(name: string): StudyDefinition {
  const study = builtins().find((s) => s.name === name);
  if (!study)
    throw new StudyError(
      'STUDY_UNKNOWN',
      `unknown study '${name}'; built-in studies: ${builtins()
        .map((s) => s.name)
        .join(', ')} (or a study .json file)`,
    );
  return structuredClone(study);
}
