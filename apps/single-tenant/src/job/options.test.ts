import { describe, expect, it } from 'vitest'
import { afterKeyFilter, parseDuration, parseJobArgs, UsageError } from './options.ts'

describe('job options', () => {
  it('has useful defaults for contacts', () => {
    expect(parseJobArgs([])).toMatchObject({
      table: 'contacts',
      key: 'contactid',
      format: 'ndjson',
      output: 'reports/contacts.ndjson',
      pageSize: 5_000,
      everyMs: undefined,
    })
  })

  it('derives the key and the format, and puts the key first in the columns', () => {
    const options = parseJobArgs([
      '--table',
      'opportunities',
      '--columns',
      'name,estimatedvalue',
      '--output',
      'x.csv',
    ])
    expect(options).toMatchObject({
      key: 'opportunityid',
      format: 'csv',
      columns: ['opportunityid', 'name', 'estimatedvalue'],
    })
    expect(parseJobArgs(['--', '--every', '15m'])).toMatchObject({ everyMs: 900_000 })
    expect(parseJobArgs(['--help'])).toBe('help')
  })

  it('refuses bad input with a usage error', () => {
    for (const args of [
      ['--table', 'contacts;drop'],
      ['--table', 'widgets'],
      ['--columns', 'a,b c'],
      ['--format', 'xml'],
      ['--page-size', '6000'],
      ['--page-size', '0'],
      ['--every', 'often'],
      ['--every', '10ms'],
      ['--unknown'],
    ]) {
      expect(() => parseJobArgs(args), args.join(' ')).toThrow(UsageError)
    }
  })

  it('parses durations', () => {
    expect(parseDuration('30s')).toBe(30_000)
    expect(parseDuration('1.5h')).toBe(5_400_000)
    expect(parseDuration('1d')).toBe(86_400_000)
  })

  it('builds the resume filter: GUIDs bare, other keys as escaped strings', () => {
    expect(afterKeyFilter('contactid', 'A1B2C3D4-0000-4000-8000-000000000000')).toBe(
      'contactid gt a1b2c3d4-0000-4000-8000-000000000000',
    )
    expect(afterKeyFilter('code', "O'Brien")).toBe("code gt 'O''Brien'")
  })
})
