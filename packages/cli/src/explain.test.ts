import { CodegenError } from '@dataverse-s2s/codegen'
import { CoreError } from '@dataverse-s2s/core'
import { DataverseError } from '@dataverse-s2s/webapi'
import { describe, expect, it } from 'vitest'
import { CliError } from './errors.ts'
import { explain, explainedCodes } from './explain.ts'

const families = [
  ['cli', explainedCodes.cli, (code: never) => new CliError(code, 'Something\nwith a second line.')],
  ['core', explainedCodes.core, (code: never) => new CoreError(code, 'Something\nwith a second line.')],
  [
    'dataverse',
    explainedCodes.dataverse,
    (code: never) => new DataverseError(code, 'Something\nwith a second line.'),
  ],
  [
    'codegen',
    explainedCodes.codegen,
    (code: never) => new CodegenError(code, 'Something\nwith a second line.'),
  ],
] as const

describe('explain', () => {
  for (const [family, codes, make] of families) {
    it(`gives every ${family} error code one line of cause and one line of fix`, () => {
      expect(codes.length).toBeGreaterThan(5)
      for (const code of codes) {
        const e = explain((make as unknown as (c: string) => Error)(code))
        expect(e.code).toBe(code)
        expect(e.cause).toBe('Something')
        expect(e.fix.length).toBeGreaterThan(10)
        expect(e.fix).not.toContain('\n')
      }
    })
  }

  it('explains the token error behind a Web API TOKEN error, and anything untyped', () => {
    const inner = new CoreError('APP_NOT_FOUND_IN_TENANT', 'The app has no service principal in tenant x.')
    const outer = new DataverseError('TOKEN', 'getToken failed; see cause.', { cause: inner })
    expect(explain(outer)).toMatchObject({ code: 'APP_NOT_FOUND_IN_TENANT', cause: inner.message })
    expect(explain(new Error('boom'))).toMatchObject({ code: 'UNEXPECTED', cause: 'boom' })
  })
})
