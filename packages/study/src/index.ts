/** @lenet/study public API. */

/** The error of this package, with its stable codes. */
export { StudyError, type StudyErrorCode } from './errors.js';
/** A job's content-hash id, and the parser every worker runs on a payload first. */
export { jobId, MAX_JOB_BYTES, parseJob } from './job.js';
/** A child process that runs jobs one at a time (what the local pool and queue workers use). */
export { JobProcess, type JobProcessOptions } from './job-process.js';
/** This machine, as job results record it. */
export { machineInfo } from './machine.js';
/** A queue's Redis URL with its password hidden, the only form of it fit for messages. */
export { redactUrl, STUDY_QUEUE_NAME } from './queue/connection.js';
/** A study's jobs run through a BullMQ queue on Redis: the coordinator's side. */
export { DEFAULT_ATTEMPTS, type QueueExecuteOptions, runJobsOnQueue } from './queue/coordinator.js';
/** A queue worker: takes study jobs from Redis and trains them in child processes. */
export {
  DEFAULT_LOCK_SECONDS,
  type QueueWorkerOptions,
  type QueueWorkerSummary,
  runQueueWorker,
} from './queue/worker.js';
/** Trains and evaluates one job in this process. */
export { type RunJobOptions, runJob } from './run-job.js';
/** Study files, jobs and job results: the types every part of a study shares. */
export {
  type ExecuteOptions,
  type JobEpoch,
  type JobResult,
  type MachineInfo,
  type ResultStore,
  STUDY_JOB_TYPE,
  STUDY_JOB_VERSION,
  type StudyArm,
  type StudyBudget,
  type StudyComparison,
  type StudyDefinition,
  type StudyJob,
} from './types.js';
