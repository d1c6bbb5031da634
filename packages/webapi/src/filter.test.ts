import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DataverseError } from './errors.ts'
import { and, formatLiteral, guid, not, odata, or } from './filter.ts'
import { buildQueryString } from './query.ts'

// A tiny OData tokenizer: enough to prove where a string literal starts and ends.
function tokens(text: string): string[] {
  const out: string[] = []
  let i = 0
  while (i < text.length) {
    const c = text[i] as string
    if (c === ' ') {
      i++
    } else if (c === "'") {
      let value = ''
      i++
      for (;;) {
        if (i >= text.length) throw new Error('unterminated literal')
        if (text[i] === "'") {
          if (text[i + 1] === "'") {
            value += "'"
            i += 2
            continue
          }
          i++
          break
        }
        value += text[i]
        i++
      }
      out.push(`str:${value}`)
    } else {
      let word = ''
      while (i < text.length && text[i] !== ' ' && text[i] !== "'") word += text[i++]
      out.push(word)
    }
  }
  return out
}

describe('odata tagged template', () => {
  it('a string value can never break out of its literal (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string(), (a, b) => {
        const text = odata`name eq ${a} and city eq ${b}`.toString()
        expect(tokens(text)).toEqual(['name', 'eq', `str:${a}`, 'and', 'city', 'eq', `str:${b}`])
      }),
      { numRuns: 200 },
    )
  })

  it('the encoded query keeps the filter inside one parameter (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (a) => {
        const qs = buildQueryString({ filter: odata`name eq ${a}`, select: ['name'] })
        const params = new URLSearchParams(qs.slice(1).replaceAll('+', '%2B'))
        expect([...params.keys()]).toEqual(['$select', '$filter'])
        expect(tokens(params.get('$filter') as string)).toEqual(['name', 'eq', `str:${a}`])
      }),
    )
  })

  it('formats numbers, booleans, null, dates, guids, arrays and nested expressions', () => {
    const id = '5f1a0e2c-7b3d-4c1e-9a2b-0123456789ab'
    const when = new Date('2026-01-02T03:04:05.000Z')
    expect(
      odata`a eq ${1.5} and b eq ${true} and c eq ${null} and d gt ${when} and e eq ${guid(id)}`.toString(),
    ).toBe(`a eq 1.5 and b eq true and c eq null and d gt 2026-01-02T03:04:05.000Z and e eq ${id}`)
    expect(
      odata`Microsoft.Dynamics.CRM.In(PropertyName='name',PropertyValues=${["O'Neil", 'x']})`.toString(),
    ).toBe(`Microsoft.Dynamics.CRM.In(PropertyName='name',PropertyValues=["O'Neil","x"])`)
    const inner = odata`x eq ${1}`
    expect(odata`${inner} or y eq ${2}`.toString()).toBe('(x eq 1) or y eq 2')
    expect(and(odata`a eq ${1}`, undefined, odata`b eq ${2}`).toString()).toBe('(a eq 1) and (b eq 2)')
    expect(or(odata`a eq ${1}`, false).toString()).toBe('a eq 1')
    expect(not(odata`a eq ${1}`).toString()).toBe('not (a eq 1)')
  })

  it('rejects values that have no safe literal', () => {
    expect(() => formatLiteral(Number.NaN)).toThrow(DataverseError)
    expect(() => formatLiteral(Number.POSITIVE_INFINITY)).toThrow(/finite/)
    expect(() => guid("x' or 1 eq 1")).toThrow(/GUID/)
    // @ts-expect-error objects are not literals
    expect(() => odata`a eq ${{ toString: () => "' or 1 eq 1" }}`).toThrow(DataverseError)
    // @ts-expect-error undefined is not a literal
    expect(() => odata`a eq ${undefined}`).toThrow(DataverseError)
  })
})
