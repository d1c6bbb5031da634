/**
 * Codes of {@link CliError}, the command line's own failures.
 * - `USAGE`: a mistake in the command line (exit code 2).
 * - `CONFIG`: the config file or a profile is missing or malformed.
 * - `ACCESS_MISSING`: `check` found something missing (exit code 3).
 * - `TABLE_NOT_FOUND`: the org has no table of that logical name.
 * - `INPUT_INVALID`: a row of an import file cannot be read.
 * - `OUTPUT_EXISTS`: an export would overwrite a file.
 * - `CHECKPOINT_INVALID`: a checkpoint does not match the file it describes.
 * - `INTERRUPTED`: Ctrl-C (exit code 130); work done so far is kept.
 */
export type CliErrorCode =
  | 'USAGE'
  | 'CONFIG'
  | 'ACCESS_MISSING'
  | 'TABLE_NOT_FOUND'
  | 'INPUT_INVALID'
  | 'OUTPUT_EXISTS'
  | 'CHECKPOINT_INVALID'
  | 'INTERRUPTED'

/** The one error class of `@dataverse-s2s/cli`; messages never contain a secret or a token. */
export class CliError extends Error {
  override name = 'CliError'
  readonly code: CliErrorCode
  constructor(code: CliErrorCode, message: string, options?: ErrorOptions) {
    super(message, options)
    this.code = code
  }
}

/** Whether `value` is a {@link CliError} (also across copies of the package). */
export function isCliError(value: unknown): value is CliError {
  return value instanceof CliError || (value instanceof Error && value.name === 'CliError' && 'code' in value)
}
