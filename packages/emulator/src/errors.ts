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

/**
 * The one error class of `@dataverse-s2s/emulator`; `code` says what went wrong.
 * @example
 * try {
 *   await startEmulator({ port: 8443 })
 * } catch (error) {
 *   if (error instanceof EmulatorError && error.code === 'INVALID_ARGUMENT') console.error(error.message) // e.g. the port is in use
 *   throw error
 * }
 */
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
