import { type ErrorKind, LenetError } from '@lenet/common';

/** Stable codes of {@link StudyError}. */
export type StudyErrorCode =
  /** A study file or definition is wrong (the message names the file and the field). */
  | 'STUDY_INVALID'
  /** No built-in study by that name. */
  | 'STUDY_UNKNOWN'
  /** A job payload is not a study job this code can run (wrong type, version or fields). */
  | 'JOB_INVALID'
  /** A job was stopped before it finished. */
  | 'JOB_INTERRUPTED'
  /** The queue (Redis) cannot be reached or refused us. */
  | 'QUEUE_UNAVAILABLE'
  /** A job ran out of attempts or the study could not complete. */
  | 'STUDY_FAILED';

/** The error `@lenet/study` throws: a stable `code`, and `kind` input (exit 2) or failure (exit 1). */
export class StudyError extends LenetError<StudyErrorCode> {
  constructor(code: StudyErrorCode, message: string, options: { cause?: unknown; kind?: ErrorKind } = {}) {
    super(code, message, {
      cause: options.cause,
      kind:
        options.kind ??
        (code === 'STUDY_INVALID' || code === 'STUDY_UNKNOWN' || code === 'JOB_INVALID'
          ? 'input'
          : 'failure'),
    });
    this.name = 'StudyError';
  }
}
