import { describe, expect, it } from 'vitest'
import { refusal } from '../test/refusal.ts'
import { and, formatLiteral, guid, type ODataValue, odata, or } from './filter.ts'

// Each rule of the OData literal writer, one test per way a value could smuggle syntax into a query or be lost.
const ID = '5f1a0e2c-7b3d-4c1e-9a2b-0123456789ab'

describe('filter rules: GUIDs', () => {
  it('guid() accepts only a whole GUID, lower-cased, and says what a GUID looks like', () => {
    expect(guid(ID.toUpperCase())).toEqual({ guid: ID })
    for (const bad of [`x${ID}`, `${ID}x`, `${ID}) or (1 eq 1`, `'${ID}'`, '']) {
      expect(refusal(() => guid(bad))).toEqual({
        code: 'INVALID_ARGUMENT',
        message: 'guid() needs a GUID like 00000000-0000-0000-0000-000000000000.',
      })
    }
  })

  it('a hand-made { guid } object is written bare only when it holds a GUID', () => {
    expect(formatLiteral({ guid: ID })).toBe(ID)
    const forged = { guid: `${ID} or 1 eq 1` }
    expect(refusal(() => formatLiteral(forged))).toEqual({
      code: 'INVALID_ARGUMENT',
      message:
        'Cannot use a value of type object in an OData expression; pass a string, number, boolean, null, Date, guid() or array.',
    })
    expect(refusal(() => formatLiteral({ guid: 42 } as never)).code).toBe('INVALID_ARGUMENT')
    // a guid that only turns into a GUID when made a string is not a string
    expect(refusal(() => formatLiteral({ guid: { toString: () => ID } } as never)).code).toBe(
      'INVALID_ARGUMENT',
    )
  })

  it('an object that only claims to be an expression is not inserted as one', () => {
    const fake = { toString: () => '1 eq 1) or (true' } as unknown as ODataValue
    expect(refusal(() => odata`a eq ${fake}`).code).toBe('INVALID_ARGUMENT')
    const wrongMark = { [Symbol.for('@dataverse-s2s/webapi.filter')]: 'yes', toString: () => 'x' }
    expect(refusal(() => odata`a eq ${wrongMark as unknown as ODataValue}`).code).toBe('INVALID_ARGUMENT')
  })
})

describe('filter rules: expressions from another copy of the package', () => {
  it('are recognised by the registered symbol, so two installed copies can nest each other’s expressions', () => {
    const other = { [Symbol.for('@dataverse-s2s/webapi.filter')]: true, toString: () => 'statecode eq 0' }
    expect(odata`${other as unknown as ODataValue} and x eq ${1}`.toString()).toBe(
      '(statecode eq 0) and x eq 1',
    )
    expect(and(other as never, odata`a eq ${1}`).toString()).toBe('(statecode eq 0) and (a eq 1)')
  })
})

describe('filter rules: literals', () => {
  it('writes bigint, false, and dates exactly; refuses an invalid Date and a non-finite number with the fix', () => {
    expect(formatLiteral(12345678901234567890n)).toBe('12345678901234567890')
    expect(formatLiteral(false)).toBe('false')
    expect(formatLiteral(true)).toBe('true')
    expect(formatLiteral(new Date(Date.UTC(2026, 0, 31)))).toBe('2026-01-31T00:00:00.000Z')
    expect(refusal(() => formatLiteral(new Date('not a date')))).toEqual({
      code: 'INVALID_ARGUMENT',
      message: 'Cannot use an invalid Date in an OData expression.',
    })
    expect(refusal(() => formatLiteral(Number.NaN))).toEqual({
      code: 'INVALID_ARGUMENT',
      message: 'Cannot use NaN in an OData expression; pass a finite number.',
    })
  })

  it('writes the items of an array as JSON strings, null as null, and refuses nested arrays and expressions', () => {
    expect(formatLiteral(['a', 1, true, null, guid(ID)])).toBe(`["a","1","true",null,"${ID}"]`)
    expect(formatLiteral(["O'Neil"])).toBe(`["O'Neil"]`)
    const message = 'An array in an OData expression holds plain values only.'
    expect(refusal(() => formatLiteral([['a']]))).toEqual({ code: 'INVALID_ARGUMENT', message })
    expect(refusal(() => formatLiteral([odata`a eq ${1}`]))).toEqual({ code: 'INVALID_ARGUMENT', message })
  })

  it('keeps the template text around the values, including an empty template', () => {
    expect(odata`${1}`.toString()).toBe('1')
    expect(odata`name eq ${'x'} and x`.toString()).toBe("name eq 'x' and x")
    expect(odata`statecode eq 0`.toString()).toBe('statecode eq 0')
  })
})

describe('filter rules: and / or', () => {
  it('refuse to build an empty condition (it would select every row)', () => {
    expect(refusal(() => and())).toEqual({
      code: 'INVALID_ARGUMENT',
      message: 'and() needs at least one expression.',
    })
    expect(refusal(() => or(undefined, false))).toEqual({
      code: 'INVALID_ARGUMENT',
      message: 'or() needs at least one expression.',
    })
  })

  it('join two or more with the operator, each in parentheses', () => {
    expect(or(odata`a eq ${1}`, odata`b eq ${2}`, odata`c eq ${3}`).toString()).toBe(
      '(a eq 1) or (b eq 2) or (c eq 3)',
    )
    expect(and(odata`a eq ${1}`, odata`b eq ${2}`).toString()).toBe('(a eq 1) and (b eq 2)')
  })
})
