import { expect } from 'vitest'
import { DataverseError } from '../src/errors.ts'

/** Runs `run`, which must throw a DataverseError; returns its code and message for an exact comparison. */
export function refusal(run: () => unknown): { code: string; message: string } {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(DataverseError)
    return { code: (error as DataverseError).code, message: (error as DataverseError).message }
  }
  throw new Error('expected a refusal')
}
