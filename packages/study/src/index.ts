/** @lenet/study public API. */

/** The built-in studies: one per comparative question of the reference reports. */
export { getStudy, listStudies } from './builtins.js';
/** Study files: validation, parsing and loading, with errors naming the file and the field. */
export { loadStudy, MAX_STUDY_JOBS, parseStudy, STUDY_MAX_BYTES, validateStudy } from './definition.js';
/** The error of this package, with its stable codes. */
export { StudyError, type StudyErrorCode } from './errors.js';
/** A job's content-hash id, and the parser every worker runs on a payload first. */
export { jobId, MAX_JOB_BYTES, parseJob } from './job.js';
/** A child process that runs jobs one at a time (what the local pool and queue workers use). */
export { JobProcess, type JobProcessOptions } from './job-process.js';
/** The local pool: a study's jobs in N job processes on this machine, and its measured default size. */
export { defaultLocalWorkers, type LocalRunOptions, runJobsLocally } from './local.js';
/** This machine, as job results record it. */
export { machineInfo } from './machine.js';
/** A study as jobs (arm × seed), with run-time overrides, and the code version jobs record. */
export { planJobs, type StudyOverrides, studyCodeVersion, withOverrides } from './plan.js';
/** A queue's Redis URL with its password hidden, the only form of it fit for messages. */
/** A queue URL parsed into connection options (with a scrubber for driver errors), and the fast start-up probe. */
export {
  parseQueueUrl,
  probeQueue,
  type QueueConnection,
  type QueueConnectionOptions,
  redactUrl,
  STUDY_QUEUE_NAME,
} from './queue/connection.js';
/** A study's jobs run through a BullMQ queue on Redis: the coordinator's side. */
export { DEFAULT_ATTEMPTS, type QueueExecuteOptions, runJobsOnQueue } from './queue/coordinator.js';
/**
 * A queue worker: takes study jobs from Redis and trains them in child processes; and `within`, a
 * queue operation bounded in time (`'timed out'` instead of waiting for an absent Redis forever).
 */
export {
  DEFAULT_LOCK_SECONDS,
  type QueueWorkerOptions,
  type QueueWorkerSummary,
  runQueueWorker,
  within,
} from './queue/worker.js';
/** Checks of a job result read back, and whether a result stands or its job runs again. */
export { isFinalResult, jobResultProblem } from './result.js';
/** Trains and evaluates one job in this process. */
export { type RunJobOptions, runJob } from './run-job.js';
/** Student-t summary of a sample (mean, sd, 95 % CI) and the paired t-test, never NaN. */
export { describeSample, type PairedTestResult, pairedTest, type SampleStats } from './stats.js';
/** The result store of a run directory: one atomically written file per job. */
export { type LocalResultStore, openResultStore, type ResultStoreOptions } from './store.js';
/** Writes a study run's results.json, study.md and plots, atomically. */
export { type StudyRunMeta, writeStudyReport } from './study-report.js';
/** A study's results summarised: per arm counts, CIs and curves; per comparison the paired test and verdict. */
export {
  type ArmSummary,
  type ComparisonOutcome,
  type ComparisonSummary,
  type EpochSummary,
  type FailedJob,
  type JobCounts,
  type MeanSd,
  type StudySummary,
  summarizeStudy,
} from './summary.js';
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
