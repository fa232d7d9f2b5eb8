// The study the study and CLI tests train: 2 arms x 2 seeds on 512 MNIST images, seconds a job.

/** A tiny study definition (plain JSON, as a study file holds it), with fields replaced by `over`. */
export function tinyStudy(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'tiny',
    description: 'lenet5 against mlp2 on 512 images',
    dataset: 'mnist',
    recipe: { validationFraction: 0 },
    budget: { epochs: 1, trainLimit: 512, testLimit: 500 },
    seeds: [0, 1],
    arms: [
      { name: 'lenet5', model: 'lenet5' },
      { name: 'mlp', model: 'mlp2' },
    ],
    comparisons: [{ a: 'lenet5', b: 'mlp', question: 'Does convolution help?' }],
    ...over,
  };
}
