// Kept apart from optimizers.ts so that recipes can name optimizers without loading TensorFlow.js.

/** The optimizers `fit` knows by name. */
export type OptimizerName = 'adam' | 'adamw' | 'sgd' | 'rmsprop';

/** Every optimizer name, for help texts and validation. */
export const OPTIMIZER_NAMES: readonly OptimizerName[] = ['adam', 'adamw', 'sgd', 'rmsprop'];
