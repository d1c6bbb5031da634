import { describe, expect, it } from 'vitest'
import { type FilterExpr, ODataParseError, parseFilter } from './odata-filter.ts'

// The literals of a $filter as the OData ABNF writes them (OData v4.01 URL conventions §5.1.1, and the int64 bounds
// of Edm.Int64), and Dataverse's Microsoft.Dynamics.CRM.In query function: what parses to which value, and what is a
// syntax error at which position.
const right = (text: string) => {
  const expr = parseFilter(`x eq ${text}`) as FilterExpr & { kind: 'compare' }
  return (expr.right as FilterExpr & { kind: 'literal' }).literal
}
const errorAt = (text: string): number => {
  try {
    parseFilter(text)
  } catch (error) {
    expect(error).toBeInstanceOf(ODataParseError)
    expect((error as ODataParseError).name).toBe('ODataParseError')
    expect((error as ODataParseError).message).toBe(
      `Syntax error at position ${(error as ODataParseError).position} in '${text}'.`,
    )
    return (error as ODataParseError).position
  }
  throw new Error(`expected ${text} not to parse`)
}

describe('$filter number literals', () => {
  it('reads integers, decimals, exponents and type suffixes', () => {
    expect(right('42')).toEqual({ type: 'number', value: 42 })
    expect(right('-7')).toEqual({ type: 'number', value: -7 })
    expect(right('1.25')).toEqual({ type: 'number', value: 1.25 })
    expect(right('1.25m')).toEqual({ type: 'number', value: 1.25 })
    expect(right('12L')).toEqual({ type: 'number', value: 12 })
    expect(right('2e3')).toEqual({ type: 'number', value: 2000 })
    expect(right('2E+3')).toEqual({ type: 'number', value: 2000 })
    expect(right('25e-1')).toEqual({ type: 'number', value: 2.5 })
    expect(right('1.5e10d')).toEqual({ type: 'number', value: 1.5e10 })
  })

  it('accepts the int64 bounds and refuses one past them, at the literal', () => {
    expect(right('9223372036854775807')).toMatchObject({ type: 'number' })
    expect(right('-9223372036854775808')).toMatchObject({ type: 'number' })
    expect(right('9223372036854775807L')).toMatchObject({ type: 'number' })
    expect(errorAt('x eq 9223372036854775808')).toBe(5)
    expect(errorAt('x eq -9223372036854775809')).toBe(5)
    expect(errorAt('x eq 9223372036854775808L')).toBe(5)
    // a decimal is not bound by int64
    expect(right('9223372036854775808.5')).toMatchObject({ type: 'number' })
  })

  it('refuses a number that overflows to infinity', () => {
    expect(errorAt(`x eq 1e999`)).toBe(5)
  })
})

describe('$filter dates and GUIDs', () => {
  it('reads dates with and without time, seconds, fractions and offsets', () => {
    const ms = (s: string) => (right(s) as { value: unknown }).value
    expect(right('2026-01-31')).toMatchObject({ type: 'datetime' })
    expect(ms('2026-01-31T10:20Z')).toEqual(ms('2026-01-31T10:20:00Z'))
    expect(ms('2026-01-31T10:20:30.1234567Z')).toEqual(ms('2026-01-31T10:20:30.123Z'))
    expect(ms('2026-01-31T12:20:30+02:00')).toEqual(ms('2026-01-31T10:20:30Z'))
    expect(ms('2026-01-31T08:20:30-02:00')).toEqual(ms('2026-01-31T10:20:30Z'))
  })

  it('refuses a malformed date or offset', () => {
    for (const bad of [
      '2026-01-31T10:20:30+2:00',
      '2026-01-31T10:20:30+02:0',
      '2026-01-31T10:20:30.Z',
      '2026-13-45',
    ]) {
      expect(() => parseFilter(`x eq ${bad}`), bad).toThrow(ODataParseError)
    }
  })

  it('reads a GUID only when it stands alone', () => {
    const id = '5F1A0E2C-7B3D-4C1E-9A2B-0123456789AB'
    expect(right(id)).toEqual({ type: 'guid', value: id.toLowerCase() })
    expect(() => parseFilter(`x eq ${id}x`)).toThrow(ODataParseError)
    expect(() => parseFilter(`x eq ${id}_1`)).toThrow(ODataParseError)
  })
})

describe('$filter strings', () => {
  it('reads single-quoted strings with doubled quotes, and refuses an unterminated one at its start', () => {
    expect(right("'O''Neil'")).toEqual({ type: 'string', value: "O'Neil" })
    expect(errorAt("x eq 'abc")).toBe(5)
  })
})

describe('Microsoft.Dynamics.CRM.In', () => {
  const In = (args: string) => parseFilter(`Microsoft.Dynamics.CRM.In(${args})`)

  it('reads PropertyName and PropertyValues in either order, JSON strings included', () => {
    const expected = {
      kind: 'in',
      property: { kind: 'property', name: 'name' },
      values: [
        { type: 'string', value: "O'Brian" },
        { type: 'string', value: 'a"b' },
      ],
    }
    expect(In(`PropertyName='name',PropertyValues=["O'Brian","a\\"b"]`)).toMatchObject(expected)
    expect(In(`PropertyValues=["O'Brian","a\\"b"],PropertyName='name'`)).toMatchObject(expected)
  })

  it('refuses a property name that is not a plain name, or not a string', () => {
    for (const bad of [`'na me'`, `'x)'`, `'1x'`, `' x'`, `'x '`, `5`]) {
      expect(() => In(`PropertyName=${bad},PropertyValues=['a']`), bad).toThrow(ODataParseError)
    }
  })

  it('refuses a missing or repeated parameter, an unknown one, a non-literal value and an unterminated JSON string', () => {
    expect(() => In(`PropertyName='name',PropertyName='x'`)).toThrow(ODataParseError)
    expect(() => In(`PropertyValues=['a'],PropertyValues=['b']`)).toThrow(ODataParseError)
    expect(() => In(`PropertyName='name',Other=['a']`)).toThrow(ODataParseError)
    expect(() => In(`PropertyName='name',PropertyValues=[name]`)).toThrow(ODataParseError)
    const unterminated = `Microsoft.Dynamics.CRM.In(PropertyName='name',PropertyValues=["abc])`
    expect(errorAt(unterminated)).toBe(unterminated.indexOf('"'))
    expect(() => In(`PropertyName='name',PropertyValues=["a\\q"]`)).toThrow(ODataParseError)
  })

  it('is the only dotted function name: another one is a syntax error', () => {
    expect(() => parseFilter(`Microsoft.Dynamics.CRM.Above(PropertyName='x',PropertyValue='y')`)).toThrow(
      ODataParseError,
    )
  })
})
