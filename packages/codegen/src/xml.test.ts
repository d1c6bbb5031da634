import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CodegenError } from './errors.ts'
import { scanXml } from './xml.ts'

type Event = ['open', string, Record<string, string>] | ['close', string]

function events(xml: string): Event[] {
  const seen: Event[] = []
  scanXml(xml, {
    open: (name, attributes) => seen.push(['open', name, attributes]),
    close: (name) => seen.push(['close', name]),
  })
  return seen
}

/** Values XML can carry, built from what escaping must get right: markup, quotes, whitespace, non-ASCII. */
const value = fc
  .string({
    unit: fc.oneof(
      fc.constantFrom('&', '<', '>', '"', "'", ';', '#', '\t', '\n', '\r', ' ', 'é', 'Ω', '中', '😀'),
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }),
    ),
  })
  .filter((v) => !/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u.test(v))

/** Writes each character as XML may: itself where allowed, a named, a decimal or a hex reference. */
function encode(v: string, how: number[]): string {
  const named: Record<string, string> = {
    '&': '&amp;',
    '<': '&lt;',
    '>': '&gt;',
    '"': '&quot;',
    "'": '&apos;',
  }
  return [...v]
    .map((c, i) => {
      const code = c.codePointAt(0) as number
      const way = how[i % how.length] ?? 0
      if (way === 1 || /[\t\n\r]/.test(c)) return `&#${code};`
      if (way === 2) return `&#x${code.toString(16)};`
      return named[c] ?? c
    })
    .join('')
}

describe('scanXml', () => {
  it('reports every attribute value as written before escaping (entities, quotes, non-ASCII)', () => {
    fc.assert(
      fc.property(value, value, fc.array(fc.nat(2), { minLength: 1 }), (a, b, how) => {
        const xml = `<?xml version="1.0"?>\n<edmx:Edmx x:a="${encode(a, how)}"><Schema b='${encode(b, how)}'/></edmx:Edmx>`
        expect(events(xml)).toEqual([
          ['open', 'Edmx', { a }],
          ['open', 'Schema', { b }],
          ['close', 'Schema'],
          ['close', 'Edmx'],
        ])
      }),
    )
  })

  it('skips text, comments, CDATA and processing instructions', () => {
    expect(events('<!-- c --><a>t&amp;<![CDATA[<b>]]><?pi x?><b/></a>')).toEqual([
      ['open', 'a', {}],
      ['open', 'b', {}],
      ['close', 'b'],
      ['close', 'a'],
    ])
  })

  it.each([
    ['<a>\n  <b></a>', 'line 2, column 10: </a> closes <b>'],
    ['<a></a></b>', '</b> closes nothing'],
    ['<a x:n="1" y:n="2"/>', 'attribute y:n given twice'],
    ['<a>\n<b>', '<b> is never closed'],
  ])('names both tags, the attribute or the element in %j', (xml, message) => {
    let error: unknown
    try {
      events(xml)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(CodegenError)
    expect((error as CodegenError).code).toBe('INVALID_XML')
    expect((error as CodegenError).message).toContain(message)
  })
})
