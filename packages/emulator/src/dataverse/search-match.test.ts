import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { clauseHits, highlight, matchFields, parseSearch, wordsOf } from './search-match.ts'

// The search text and the searched values are outside input: parsing never throws, highlighting only adds markers,
// and a search for a word of a value always finds the value.

const text = fc.string({
  unit: fc.constantFrom('a', 'B', 'é', '中', '1', ' ', '-', '+', '|', '"', '*', '\\', '(', ')', '{', '}'),
  maxLength: 40,
})

describe('search matching', () => {
  it('parses any search text without throwing', () => {
    fc.assert(fc.property(text, (t) => Array.isArray(parseSearch(t))))
  })

  it('highlighting only adds {crmhit} markers around words', () => {
    fc.assert(
      fc.property(text, text, (value, query) => {
        const words = wordsOf(value)
        const hits = parseSearch(query).flatMap((c) => clauseHits(c, words))
        const marked = highlight(value, hits)
        expect(marked.replaceAll('{crmhit}', '').replaceAll('{/crmhit}', '')).toBe(
          value.replaceAll('{crmhit}', '').replaceAll('{/crmhit}', ''),
        )
      }),
    )
  })

  it('finds a value by any of its words, ignoring case, and never when the word is excluded', () => {
    fc.assert(
      fc.property(text, fc.nat(), (value, pick) => {
        const words = wordsOf(value)
        fc.pre(words.length > 0)
        const word = (words[pick % words.length] as { text: string }).text
        const fields = [{ column: 'name', text: value, weight: 2 }]
        expect(matchFields(parseSearch(word.toUpperCase()), fields, false)).toBeDefined()
        expect(matchFields(parseSearch(`-${word}`), fields, false)).toBeUndefined()
      }),
    )
  })

  it('reads the documented operators', () => {
    expect(parseSearch('hotel+(wifi | luxury)')).toEqual([
      { words: ['hotel'], prefix: false, op: 'should' },
      { words: ['wifi'], prefix: false, op: 'should' },
      { words: ['luxury'], prefix: false, op: 'should' },
    ])
    expect(parseSearch('Alp* -"blue sky" +red \\+1')).toEqual([
      { words: ['alp'], prefix: true, op: 'should' },
      { words: ['blue', 'sky'], prefix: false, op: 'not' },
      { words: ['red'], prefix: false, op: 'must' },
      { words: ['1'], prefix: false, op: 'should' },
    ])
  })
})
