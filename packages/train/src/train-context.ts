import type { MeanStd } from '@lenet/datasets';
import type { ModelSpec } from '@lenet/models';
import type { NonFiniteLoss, RunningMetrics, TrainContext } from './callback.js';
import { type EpochPosition, writeCheckpoint } from './checkpoint.js';
import { TrainError } from './errors.js';
import type { EpochLogs } from './logs.js';
import type { LearningRateSchedule } from './schedules.js';
import type { StepRunner } from './step.js';
import type * as tf from './tfjs.js';

/** Where a run is: written by the loop's phases, read by the callbacks through the context. */
export interface LoopState {
  epoch: number;
  /** Steps done so far (the next step's index). */
  step: number;
  /** Learning rate of the most recent step. */
  lr: number;
  stopReason: string | null;
  /** The epoch the first stop request came in. */
  stoppedAt: number;
  /** True between epochs; false while an epoch's batches run. */
  atBoundary: boolean;
  /** Batches of the current epoch done (a resumed epoch counts those before the resume). */
  batch: number;
  /** `performance.now()` at the start of the current epoch (or of its resumed part). */
  epochStart: number;
  /** Samples trained in the current epoch so far (a resumed epoch counts those before the resume). */
  epochSamples: number;
  /** Samples of the current epoch trained before a resume: not part of this call's timing. */
  epochSamplesBefore: number;
  /** The global step each epoch of this call started at. */
  readonly epochFirstStep: Map<number, number>;
}

/** The fixed facts of a run that the context reports or saves. */
export interface RunFacts {
  model: tf.LayersModel;
  trainStep: StepRunner;
  schedule: LearningRateSchedule;
  history: EpochLogs[];
  epochs: number;
  initialEpoch: number;
  stepsPerEpoch: number;
  batchSize: number;
  trainSamples: number;
  valSamples: number;
  seed: number;
  normalize: 'unit' | MeanStd;
  spec: ModelSpec | undefined;
}

/** The {@link TrainContext} callbacks receive: a live view of the loop's state, plus checkpointing. */
export function createTrainContext(facts: RunFacts, state: LoopState): TrainContext {
  const { model, trainStep, schedule, history } = facts;
  return {
    model,
    epochs: facts.epochs,
    initialEpoch: facts.initialEpoch,
    stepsPerEpoch: facts.stepsPerEpoch,
    batchSize: facts.batchSize,
    trainSamples: facts.trainSamples,
    valSamples: facts.valSamples,
    history,
    get epoch() {
      return state.epoch;
    },
    get step() {
      return state.step;
    },
    get learningRate() {
      return state.lr;
    },
    get stopReason() {
      return state.stopReason;
    },
    get betweenEpochs() {
      return state.atBoundary;
    },
    stop(reason: string) {
      if (state.stopReason === null) {
        state.stopReason = reason;
        state.stoppedAt = state.epoch;
      }
    },
    async runningMetrics(): Promise<RunningMetrics> {
      const { loss, correct } = await trainStep.sums.read();
      const samples = state.epochSamples;
      return {
        loss: samples > 0 ? loss / samples : Number.NaN,
        accuracy: samples > 0 ? correct / samples : Number.NaN,
        samples,
        seconds: (performance.now() - state.epochStart) / 1000,
      };
    },
    async firstNonFinite(): Promise<NonFiniteLoss | null> {
      const bad = await trainStep.sums.firstNonFiniteStep();
      if (bad === null) return null;
      let e = facts.initialEpoch;
      for (const [ep, first] of state.epochFirstStep) if (first <= bad && ep > e) e = ep;
      return { epoch: e, batch: bad - (state.epochFirstStep.get(e) ?? 0), step: bad };
    },
    async saveCheckpoint(dir: string): Promise<void> {
      let position: EpochPosition | undefined;
      if (!state.atBoundary) {
        // Between batches: resuming needs where in the epoch, and the epoch's sums so far.
        const { loss, correct } = await trainStep.sums.read();
        if (!Number.isFinite(loss)) {
          throw new TrainError(
            'saveCheckpoint',
            `the loss of epoch ${state.epoch + 1} is not finite: its state is not worth resuming`,
            { kind: 'failure' },
          );
        }
        position = {
          batch: state.batch,
          stepsPerEpoch: facts.stepsPerEpoch,
          samples: state.epochSamples,
          lossSum: loss,
          correct,
        };
      }
      await writeCheckpoint(dir, {
        model,
        optimizer: trainStep.optimizer,
        state: {
          epoch: history.length,
          step: state.step,
          epochs: facts.epochs,
          batchSize: facts.batchSize,
          seed: facts.seed,
          normalize: facts.normalize,
          schedule: schedule.state(),
          history: [...history],
          ...(facts.spec ? { spec: facts.spec } : {}),
          ...(position ? { position } : {}),
        },
      });
    },
  };
}
