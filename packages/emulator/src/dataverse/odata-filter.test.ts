import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { DataverseFault } from './errors.ts'
import { defineTable } from './metadata.ts'
import { ODataParseError, parseFilter, quoteLiteral } from './odata-filter.ts'
import { compileFilter, filterFor } from './query.ts'
import type { Row } from './store.ts'

const account = defineTable({
  logicalName: 'account',
  columns: [
    { name: 'name', type: 'string' },
    { name: 'revenue', type: 'money' },
    { name: 'numberofemployees', type: 'integer' },
    { name: 'creditonhold', type: 'boolean' },
    { name: 'primarycontactid', type: 'lookup', target: 'contact' },
    { name: 'founded', type: 'datetime' },
  ],
})

function row(values: Record<string, unknown>): Row {
  const r: Row = new Array(account.columns.length + 1).fill(null)
  r[0] = 0
  for (const [k, v] of Object.entries(values)) {
    const col = account.byName.get(k)
    if (!col) throw new Error(k)
    r[col.index] = v
  }
  return r
}

const matches = (filter: string, values: Record<string, unknown>) => filterFor(account, filter)(row(values))

describe('$filter parser', () => {
  it('parses comparisons, logic, precedence and parentheses', () => {
    expect(parseFilter("name eq 'a' or name eq 'b' and revenue gt 5")).toEqual({
      kind: 'or',
      left: {
        kind: 'compare',
        op: 'eq',
        left: { kind: 'property', name: 'name', position: 0 },
        right: { kind: 'literal', literal: { type: 'string', value: 'a' } },
      },
      right: {
        kind: 'and',
        left: expect.objectContaining({ op: 'eq' }),
        right: expect.objectContaining({ op: 'gt' }),
      },
    })
    expect(parseFilter('not (revenue le 5)')).toMatchObject({
      kind: 'not',
      operand: { kind: 'compare', op: 'le' },
    })
  })

  it('reads GUIDs, dates, numbers, booleans and null literals', () => {
    expect(parseFilter('_primarycontactid_value eq 6E2F8C4A-1D3B-4E5F-A6B7-C8D9E0F1A2B3')).toMatchObject({
      right: { literal: { type: 'guid', value: '6e2f8c4a-1d3b-4e5f-a6b7-c8d9e0f1a2b3' } },
    })
    expect(parseFilter('founded ge 2024-01-02T03:04:05Z')).toMatchObject({
      right: { literal: { type: 'datetime', value: Date.UTC(2024, 0, 2, 3, 4, 5) } },
    })
    expect(parseFilter('founded lt 2024-01-02')).toMatchObject({
      right: { literal: { value: Date.UTC(2024, 0, 2) } },
    })
    expect(parseFilter('revenue gt -12.5')).toMatchObject({
      right: { literal: { type: 'number', value: -12.5 } },
    })
    expect(parseFilter('creditonhold eq true')).toMatchObject({
      right: { literal: { type: 'boolean', value: true } },
    })
    expect(parseFilter('name eq null')).toMatchObject({ right: { literal: { type: 'null' } } })
  })

  it('reports the position of a syntax error', () => {
    const err = (() => {
      try {
        parseFilter("name eq 'a' and")
      } catch (e) {
        return e
      }
    })() as ODataParseError
    expect(err).toBeInstanceOf(ODataParseError)
    expect(err.position).toBe(15)
    for (const bad of [
      '',
      'name eq',
      "name eq 'unterminated",
      'name eq 1 2',
      '(name eq 1',
      'eq 1',
      'contains(name)',
      'name $ 1',
    ]) {
      expect(() => parseFilter(bad), bad).toThrow(ODataParseError)
    }
  })

  it('never throws anything but ODataParseError, whatever the input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        try {
          parseFilter(s)
        } catch (e) {
          if (!(e instanceof ODataParseError)) throw e
        }
      }),
      { numRuns: 2000 },
    )
  })

  it('never throws anything but ODataParseError on inputs built from filter tokens', () => {
    const token = fc.constantFrom(
      'name',
      'revenue',
      'eq',
      'ne',
      'gt',
      'and',
      'or',
      'not',
      '(',
      ')',
      ',',
      "'x'",
      "''''",
      '12',
      '1.5',
      'null',
      'true',
      'contains',
      'startswith',
      '2024-01-01',
      '6e2f8c4a-1d3b-4e5f-a6b7-c8d9e0f1a2b3',
      'Microsoft.Dynamics.CRM.In',
      '[',
      ']',
      '=',
    )
    fc.assert(
      fc.property(fc.array(token, { maxLength: 30 }), (tokens) => {
        try {
          parseFilter(tokens.join(' '))
        } catch (e) {
          if (!(e instanceof ODataParseError)) throw e
        }
      }),
      { numRuns: 3000 },
    )
  })

  it('round-trips any string through a quoted literal with doubled quotes', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 100 }), (s) => {
        expect(parseFilter(`name eq ${quoteLiteral(s)}`)).toMatchObject({
          right: { literal: { type: 'string', value: s } },
        })
        expect(matches(`name eq ${quoteLiteral(s)}`, { name: s })).toBe(true)
        expect(matches(`contains(name,${quoteLiteral(s)})`, { name: `>${s}<` })).toBe(true)
      }),
      { numRuns: 1000 },
    )
  })

  it('resists deep nesting without a stack overflow', () => {
    expect(() => parseFilter(`${'('.repeat(5000)}name eq 1${')'.repeat(5000)}`)).toThrow(ODataParseError)
    expect(() => parseFilter(`${'not '.repeat(5000)}creditonhold`)).toThrow(ODataParseError)
  })
})

describe('$filter evaluation', () => {
  it('compares strings case-insensitively and treats null like Dataverse', () => {
    expect(matches("name eq 'CONTOSO'", { name: 'Contoso' })).toBe(true)
    expect(matches("name ne 'x'", { name: null })).toBe(true)
    expect(matches('name eq null', { name: null })).toBe(true)
    expect(matches('name ne null', { name: null })).toBe(false)
    expect(matches('revenue gt 5', { revenue: null })).toBe(false)
    expect(matches("startswith(name,'con') and endswith(name,'SO')", { name: 'Contoso' })).toBe(true)
    expect(matches("not contains(name,'z')", { name: 'Contoso' })).toBe(true)
  })

  it('compares numbers, dates, booleans and lookups', () => {
    const r = {
      revenue: 100,
      numberofemployees: 7,
      creditonhold: true,
      primarycontactid: '6e2f8c4a-1d3b-4e5f-a6b7-c8d9e0f1a2b3',
      founded: Date.UTC(2020, 5, 1) / 1000,
    }
    expect(matches('revenue ge 100 and numberofemployees lt 8', r)).toBe(true)
    expect(matches('creditonhold', r)).toBe(true)
    expect(matches('creditonhold eq false', r)).toBe(false)
    expect(matches('_primarycontactid_value eq 6E2F8C4A-1D3B-4E5F-A6B7-C8D9E0F1A2B3', r)).toBe(true)
    expect(matches('founded gt 2020-01-01 and founded lt 2020-12-31T00:00:00Z', r)).toBe(true)
    expect(
      matches("Microsoft.Dynamics.CRM.In(PropertyName='numberofemployees',PropertyValues=[1,7])", r),
    ).toBe(true)
  })

  it('rejects unknown properties and incompatible types with Dataverse faults', () => {
    const fault = (f: string) => {
      try {
        compileFilter(account, parseFilter(f))
      } catch (e) {
        return e as DataverseFault
      }
      throw new Error('no fault')
    }
    expect(fault("Name eq 'x'")).toMatchObject({ status: 400, code: '0x0' })
    expect(fault("Name eq 'x'").message).toContain("Could not find a property named 'Name'")
    expect(fault("revenue eq 'x'")).toMatchObject({ status: 400, code: '0x80060888' })
    expect(fault('contains(revenue,1)')).toMatchObject({ status: 400 })
  })
})

describe('parameter aliases', () => {
  const from = (values: Record<string, string>) => (name: string) => values[name]

  it('stand for their values: the same tree as the inline form, positioned at the alias', () => {
    const inline = parseFilter("Microsoft.Dynamics.CRM.In(PropertyName='name',PropertyValues=['a','b'])")
    const aliased = parseFilter(
      'Microsoft.Dynamics.CRM.In(PropertyName=@p1,PropertyValues=@p2)',
      from({ '@p1': "'name'", '@p2': '["a","b"]' }),
    )
    expect(aliased).toEqual({
      ...inline,
      property: { ...(inline as { property: object }).property, position: 26 },
    })
    expect(parseFilter('numberofemployees gt @n and name eq @s', from({ '@n': '12', '@s': "'x'" }))).toEqual(
      parseFilter("numberofemployees gt 12 and name eq 'x'"),
    )
    // an alias name runs over letters, digits and underscores only
    expect(parseFilter('name eq @a_1', from({ '@a_1': "'x'" }))).toEqual(parseFilter("name eq 'x'"))
  })

  it('is refused at its position without a value, with a value that is no value, or with another alias in it', () => {
    for (const [text, values] of [
      ['name eq @p1', {}],
      ['name eq @p1', { '@p1': "'open" }],
      ['name eq @p1', { '@p1': '@p2', '@p2': "'x'" }],
      ['name eq  @p1', { '@p1': '' }],
    ] as const) {
      const error = (() => {
        try {
          parseFilter(text, from(values))
        } catch (e) {
          return e
        }
      })()
      expect(error, text).toBeInstanceOf(ODataParseError)
      expect((error as ODataParseError).position, text).toBe(text.indexOf('@'))
    }
    // without alias values (another caller of the parser), an alias is a syntax error
    expect(() => parseFilter('name eq @p1')).toThrow(ODataParseError)
  })
})

describe('functions the parser does not know', () => {
  it('says which function it is and what is known, at the function’s position', () => {
    const text = "Microsoft.Dynamics.CRM.Above(PropertyName='accountid',PropertyValue='x')"
    expect(() => parseFilter(text)).toThrow(
      `Syntax error at position 0 in '${text}'. The emulator does not emulate the query function Microsoft.Dynamics.CRM.Above; of Dataverse's query functions it knows In, NotIn, ContainValues, DoesNotContainValues, Between, NotBetween, EqualUserId,`,
    )
    for (const name of ['Under', 'EqualUserOrUserTeams', 'InFiscalYear', 'LastFiscalPeriod', 'NotOn']) {
      expect(() => parseFilter(`Microsoft.Dynamics.CRM.${name}(PropertyName='x')`), name).toThrow(
        `does not emulate the query function Microsoft.Dynamics.CRM.${name};`,
      )
    }
    // a long name is quoted at 80 characters
    const long = `Microsoft.Dynamics.CRM.${'X'.repeat(100)}`
    expect(() => parseFilter(`${long}()`)).toThrow(`the query function ${long.slice(0, 80)}; of Dataverse's`)
    expect(() => parseFilter(`${'f'.repeat(100)}(name)`)).toThrow(
      `Unknown function '${'f'.repeat(80)}': use contains`,
    )
    expect(() => parseFilter("name eq 'x' and tolower(name) eq 'x'")).toThrow(
      "Syntax error at position 16 in 'name eq 'x' and tolower(name) eq 'x''. Unknown function 'tolower': use contains, startswith, endswith or a Microsoft.Dynamics.CRM query function.",
    )
  })
})
