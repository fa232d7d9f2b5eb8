import { LenetError } from '@lenet/common';

/** Where in a spec a {@link SpecError} was found. All parts are optional. */
export interface SpecErrorLocation {
  /** The file the spec was read from. */
  file?: string;
  /** Index of the layer in `spec.layers` (0-based). */
  layerIndex?: number;
  /** The layer's `type` (as written, even when unknown). */
  layerType?: string;
  /** The offending field, e.g. `filters` or `input`. */
  field?: string;
}

/**
 * The error for a spec that is malformed or does not fit its input. The message names the place,
 * e.g. `spec "keras-deep": layers[7] (maxPool): output height 0 <= 0 (input 1x1x64, size 2, stride 2, padding 'valid')`.
 * Its code is always `SPEC_INVALID`, its kind `'input'`.
 */
export class SpecError extends LenetError<'SPEC_INVALID'> {
  /** The problem alone, without the location prefix. */
  readonly reason: string;
  readonly file?: string;
  readonly layerIndex?: number;
  readonly layerType?: string;
  readonly field?: string;

  constructor(
    reason: string,
    location: SpecErrorLocation & { specName?: string } = {},
    options?: { cause?: unknown },
  ) {
    super('SPEC_INVALID', SpecError.format(reason, location), options);
    this.name = 'SpecError';
    this.reason = reason;
    this.file = location.file;
    this.layerIndex = location.layerIndex;
    this.layerType = location.layerType;
    this.field = location.field;
  }

  /** Builds `file: spec "name": layers[i] (type): field "f": reason`. */
  static format(reason: string, location: SpecErrorLocation & { specName?: string }): string {
    const parts: string[] = [];
    if (location.file !== undefined) parts.push(location.file);
    if (location.specName !== undefined) parts.push(`spec "${location.specName}"`);
    if (location.layerIndex !== undefined) {
      parts.push(`layers[${location.layerIndex}] (${location.layerType ?? 'unknown type'})`);
    }
    if (location.field !== undefined) parts.push(`field "${location.field}"`);
    parts.push(reason);
    return parts.join(': ');
  }
}
