import * as tf from './tfjs.js';
import { type FusedConv2D, fusedOps, gradientDepth } from './tfjs-internals.js';

type FusedConv2DArgs = Parameters<FusedConv2D>[0];

/** tfjs's own `fused.conv2d`, while ours is in place. */
let stockFusedConv2d: FusedConv2D | undefined;

/**
 * `fused.conv2d` as tfjs-layers' Conv2D calls it, except while gradients are being recorded with
 * a linear activation: there tfjs's fused op wraps the kernel in a `customGrad` whose gradient
 * computes the input gradient eagerly, even for the first layer, whose input is the data batch
 * and needs none. That costs a full `Conv2DBackpropInput` per step (LeNet-5's C1: 28×28×6
 * outputs back to 28×28×1). Taking tfjs's own unfused route there (conv2d + bias add, which is
 * what tfjs already does for non-linear activations in gradient mode) lets the tape skip it.
 */
function trainingFusedConv2d(args: FusedConv2DArgs): ReturnType<FusedConv2D> {
  const stock = stockFusedConv2d as FusedConv2D;
  const activation = args.activation ?? 'linear';
  const layout = args.dataFormat ?? 'NHWC';
  if (
    gradientDepth() === 0 ||
    activation !== 'linear' ||
    layout !== 'NHWC' ||
    args.preluActivationWeights !== undefined
  ) {
    return stock(args);
  }
  return tf.tidy(() => {
    const y = tf.conv2d(
      args.x as tf.Tensor4D,
      args.filter,
      args.strides,
      args.pad,
      'NHWC',
      args.dilations,
      args.dimRoundingMode,
    );
    return (args.bias === undefined ? y : tf.add(y, args.bias)) as ReturnType<FusedConv2D>;
  });
}

/**
 * Routes tfjs-layers' convolutions through the unfused conv2d + bias add while a gradient is
 * recorded, so that no input gradient is computed for the network's input. Idempotent.
 */
export function installConvInputGradientPruning(): void {
  if (stockFusedConv2d !== undefined) return;
  stockFusedConv2d = fusedOps().conv2d;
  fusedOps().conv2d = trainingFusedConv2d as FusedConv2D;
}

/** Puts tfjs's `fused.conv2d` back. Returns whether ours was installed. */
export function uninstallConvInputGradientPruning(): boolean {
  if (stockFusedConv2d === undefined) return false;
  fusedOps().conv2d = stockFusedConv2d;
  stockFusedConv2d = undefined;
  return true;
}

/** Whether the pruning is in place. */
export function convInputGradientPruningInstalled(): boolean {
  return stockFusedConv2d !== undefined;
}
