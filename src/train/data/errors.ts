// The one error type of data preparation. Everything it reports is a problem with the caller's data or
// options (a missing file, an unknown column, junk in a numeric column, nothing left after cleaning), so
// it is an INVALID_INPUT in the catalogue: the CLI turns it into exit code 2, the HTTP layer into a 400.
import { DriftgateError } from '../../core/index.js';

/** Where in the input a problem sits, when it is known. */
export interface DataErrorLocation {
  /** File path, or a name such as `examples` for in-memory data. */
  source?: string;
  /** 1-based physical line in the file. */
  line?: number;
  /** Column name. */
  column?: string;
}

export class DataError extends DriftgateError {
  readonly source: string | undefined;
  readonly line: number | undefined;
  readonly column: string | undefined;

  constructor(message: string, location: DataErrorLocation = {}, options: { cause?: unknown } = {}) {
    super('INVALID_INPUT', message, options);
    this.name = 'DataError';
    this.source = location.source;
    this.line = location.line;
    this.column = location.column;
  }
}
