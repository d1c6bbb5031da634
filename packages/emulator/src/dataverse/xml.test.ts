import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DataverseFault } from './errors.ts'
import { parseXml } from './xml.ts'

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

function refusal(xml: string): string {
  try {
    parseXml(xml)
  } catch (error) {
    expect(error).toBeInstanceOf(DataverseFault)
    expect(error).toMatchObject({ status: 400, code: '0x80060888' })
    return (error as Error).message
  }
  throw new Error(`expected a 400 fault for ${xml}`)
}

describe('FetchXML reader', () => {
  it('reads back every attribute value and text as written before escaping (entities, quotes, non-ASCII)', () => {
    fc.assert(
      fc.property(value, value, fc.array(fc.nat(2), { minLength: 1 }), (a, b, how) => {
        const root = parseXml(
          `<fetch a="${encode(a, how)}"><entity name='${encode(b, how)}'>${encode(b, how)}</entity></fetch>`,
        )
        expect(root.attrs.get('a')).toBe(a)
        expect(root.children[0]?.attrs.get('name')).toBe(b)
        expect(root.children[0]?.text).toBe(b)
      }),
    )
  })

  it('builds the tree: children in order, text and CDATA of each element, comments skipped', () => {
    const root = parseXml(
      '<?xml version="1.0"?><!-- c --><fetch><entity name="a"><attribute name="x"/><!-- y --><value>1&amp;<![CDATA[<2>]]></value></entity></fetch>',
    )
    expect(root.name).toBe('fetch')
    const entity = root.children[0]
    expect(entity?.children.map((c) => c.name)).toEqual(['attribute', 'value'])
    expect(entity?.children[1]?.text).toBe('1&<2>')
  })

  it('refuses what is not well-formed with a 400 that says where', () => {
    expect(refusal('<fetch><entity name="a"></fetch>')).toMatch(
      /^The fetchXml parameter is not well-formed XML \(line 1, column \d+: .+\)\.$/,
    )
    for (const xml of [
      '<fetch a="&#0;"/>',
      '<fetch a="&nbsp;"/>',
      '<fetch a=1/>',
      '<fetch/><fetch/>',
      '<fetch>',
      '',
      '<!DOCTYPE fetch [<!ENTITY a "b">]><fetch>&a;</fetch>',
    ])
      expect(refusal(xml)).toMatch(/not well-formed/)
    expect(refusal(`<fetch>${'<x>'.repeat(50)}${'</x>'.repeat(50)}</fetch>`)).toMatch(/deeper than 50/)
    expect(parseXml(`<fetch>${'<x>'.repeat(49)}${'</x>'.repeat(49)}</fetch>`).name).toBe('fetch')
  })
})
