import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { memberNames } from './choices.ts'

const names = (labels: string[]) => [
  ...memberNames(labels.map((label, i) => ({ value: i + 1, label }))).values(),
]

describe('enum member names from option labels', () => {
  it('joins words in PascalCase, dropping punctuation, apostrophes and accents', () => {
    expect(
      names([
        'Accounting',
        'Design, Direction and Creative Management',
        "Doctor's Offices and Clinics",
        'Non-Durable Merchandise Retail',
        'SIG Affiliations',
        'Zürich Straße (Süd)',
        'read-write',
      ]),
    ).toEqual([
      'Accounting',
      'DesignDirectionAndCreativeManagement',
      'DoctorsOfficesAndClinics',
      'NonDurableMerchandiseRetail',
      'SIGAffiliations',
      'ZurichStrasseSud',
      'ReadWrite',
    ])
  })

  it('names labels without Latin letters by value, prefixes digits, and suffixes duplicates with the value', () => {
    const out = memberNames([
      { value: 7, label: 'Other' },
      { value: 3, label: 'Other' },
      { value: 4, label: '東京' },
      { value: 5, label: '' },
      { value: 6, label: '1 Year' },
      { value: -1, label: '?' },
    ])
    expect(Object.fromEntries(out)).toEqual({
      3: 'Other',
      7: 'Other_7',
      4: 'Value4',
      5: 'Value5',
      6: '_1Year',
      [-1]: 'ValueMinus1',
    })
  })

  it('gives every option a distinct identifier, the same for the same options in any order', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.record({ value: fc.integer({ min: -5, max: 1_000_000 }), label: fc.string() }), {
          selector: (o) => o.value,
          maxLength: 30,
        }),
        (options) => {
          const a = memberNames(options)
          const b = memberNames([...options].reverse())
          expect([...a.entries()].sort()).toEqual([...b.entries()].sort())
          const values = [...a.values()]
          expect(new Set(values).size).toBe(values.length)
          for (const v of values) expect(v).toMatch(/^[A-Za-z_][A-Za-z0-9_]*$/)
        },
      ),
    )
  })
})
