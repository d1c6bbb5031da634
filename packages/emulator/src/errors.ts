/** What went wrong in an emulator call. */
export type EmulatorErrorCode =
  | 'INVALID_ARGUMENT'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'NO_SERVICE_PRINCIPAL'
  | 'UNKNOWN_RESOURCE'
  | 'TLS'
  | 'STATE'
  | 'STOPPED'

/** The one error class of `@dataverse-s2s/emulator`; `code` says what went wrong. */
export class EmulatorError extends Error {
  override name = 'EmulatorError'
  constructor(
    readonly code: EmulatorErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options)
  }
}
