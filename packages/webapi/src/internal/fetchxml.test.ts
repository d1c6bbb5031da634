import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DataverseError } from '../errors.ts'
import { pagingCookieFrom, readFetch, setFetchAttributes } from './fetchxml.ts'
import { escapeXmlAttribute } from './xml.ts'

const FETCH =
  '<fetch version="1.0" count="50"><entity name="account"><attribute name="name"/></entity></fetch>'

const read = (xml: string, name: string) => readFetch(xml).attributes.get(name)

/** Attribute values built from what escaping must get right: markup characters, whitespace, non-ASCII. */
const value = fc
  .string({
    unit: fc.oneof(
      fc.constantFrom(
        '&',
        '<',
        '>',
        '"',
        "'",
        ';',
        '#',
        '&amp;',
        '\t',
        '\n',
        '\r',
        '\r\n',
        ' ',
        'é',
        '中',
        '😀',
      ),
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }),
    ),
  })
  .filter((v) => escapeXmlAttribute(v) !== undefined)

/** Writes one character of an attribute value as XML may: itself (when allowed), a named or a numeric reference. */
function encodeChar(ch: string, how: number): string {
  const code = ch.codePointAt(0) as number
  const named: Record<string, string> = {
    '&': '&amp;',
    '<': '&lt;',
    '>': '&gt;',
    '"': '&quot;',
    "'": '&apos;',
  }
  if (how === 1 && named[ch]) return named[ch]
  // a literal tab or line break in an attribute value is read as a space (XML 1.0 §3.3.3)
  if (how === 2 || /[\t\n\r]/.test(ch)) return `&#${code};`
  if (how === 3) return `&#x${code.toString(16)};`
  return named[ch] ?? ch
}

const refusal = (run: () => unknown) => {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(DataverseError)
    expect((error as DataverseError).code).toBe('INVALID_ARGUMENT')
    return (error as DataverseError).message
  }
  throw new Error('expected an INVALID_ARGUMENT DataverseError')
}

describe('FetchXML attribute edits', () => {
  it('reads back any attribute value it wrote (entities decoded, nothing escaped twice)', () => {
    fc.assert(
      fc.property(value, (v) => {
        const xml = setFetchAttributes(FETCH, { 'paging-cookie': v, page: '2' })
        expect(read(xml, 'paging-cookie')).toBe(v)
        expect(read(xml, 'page')).toBe('2')
        expect(read(xml, 'count')).toBe('50')
      }),
    )
  })

  it('decodes attribute values however their characters are written (named, decimal, hex references)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            value.filter((v) => v.length > 0),
            fc.nat(3),
          ),
        ),
        (chars) => {
          const v = chars.map(([ch]) => ch).join('')
          const raw = chars.map(([ch, how]) => [...ch].map((c) => encodeChar(c, how)).join('')).join('')
          expect(read(`<fetch distinct="false" x="${raw}"/>`, 'x')).toBe(v)
          expect(read(`<fetch distinct='false' x='${raw}'/>`, 'x')).toBe(v)
        },
      ),
    )
  })

  it('rewrites only the root start tag: the text around it stays as written', () => {
    const before = '<?xml version="1.0"?>\n<!-- <fetch page="9"> -->\n'
    const body = `<entity name='fetch'><filter><condition attribute="name" operator="eq" value="a&amp;b"/></filter></entity></fetch>\n`
    const xml = setFetchAttributes(`${before}<fetch count='3'\n  top="x">${body}`, {
      page: '2',
      top: undefined,
    })
    expect(xml).toBe(`${before}<fetch count="3" page="2">${body}`)
    expect(setFetchAttributes('<fetch/>', { count: '1' })).toBe('<fetch count="1"/>')
    expect(setFetchAttributes('<fetch/>', { 'paging-cookie': `&<>"'\t\n\r` })).toBe(
      '<fetch paging-cookie="&amp;&lt;&gt;&quot;&apos;&#9;&#10;&#13;"/>',
    )
  })

  it('refuses FetchXML that is not well-formed, or whose root is not <fetch>, with INVALID_ARGUMENT', () => {
    expect(refusal(() => readFetch('<fetch count="3"><entity name="a"></fetch>'))).toMatch(
      /^fetchXml is not well-formed XML: .* \(line 1, column \d+\)\. Fix the query text\.$/,
    )
    expect(refusal(() => readFetch('<fetch count=3/>'))).toMatch(/not well-formed/)
    expect(refusal(() => readFetch('<fetch a="&nbsp;"/>'))).toMatch(/not well-formed/)
    expect(refusal(() => readFetch('<fetch/><fetch/>'))).toMatch(/not well-formed/)
    expect(refusal(() => readFetch(''))).toMatch(/not well-formed/)
    expect(refusal(() => readFetch('<!DOCTYPE fetch [<!ENTITY a "b">]><fetch/>'))).toMatch(/DOCTYPE/)
    expect(refusal(() => readFetch('<entity name="a"><fetch/></entity>'))).toBe(
      'fetchXml must have <fetch> as its root element, not <entity>.',
    )
    expect(refusal(() => setFetchAttributes(FETCH, { 'paging-cookie': 'a\u0001b' }))).toMatch(
      /paging-cookie attribute of <fetch> holds a character XML cannot carry/,
    )
  })

  it("decodes &amp; and &quot; in the annotation's pagingcookie and writes it back escaped once", () => {
    // Regression: the regex edits returned attribute text as written, so the cookie came back as 'a&amp;b=&quot;1&quot;'
    // and was escaped a second time ('&amp;amp;') when written into paging-cookie.
    const annotation = '<cookie pagenumber="2" pagingcookie="a&amp;b=&quot;1&quot;" istracking="False" />'
    const cookie = pagingCookieFrom(annotation)
    expect(cookie).toBe('a&b="1"')
    const xml = setFetchAttributes(FETCH, { 'paging-cookie': cookie, page: '2' })
    expect(xml).toContain('paging-cookie="a&amp;b=&quot;1&quot;"')
    expect(read(xml, 'paging-cookie')).toBe('a&b="1"')
  })

  it('still URL-decodes the twice-encoded cookie Dataverse sends', () => {
    const inner = '<cookie page="1"><accountid last="{A}" first="{B}" /></cookie>'
    const annotation = `<cookie pagenumber="2" pagingcookie="${encodeURIComponent(encodeURIComponent(inner))}" />`
    expect(pagingCookieFrom(annotation)).toBe(inner)
    expect(pagingCookieFrom('<cookie pagenumber="2" />')).toBeUndefined()
    expect(pagingCookieFrom('not xml')).toBeUndefined()
    expect(pagingCookieFrom(undefined)).toBeUndefined()
  })
})
