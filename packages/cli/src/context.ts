import type { Io } from './output.ts'

/** What every command runs with. */
export interface Context {
  io: Io
  /** Aborted by Ctrl-C. */
  signal: AbortSignal
  /** Set by a command that finished but must exit non-zero (e.g. 3 when `check` found something missing). */
  exitCode?: number
}
