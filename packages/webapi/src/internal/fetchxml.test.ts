import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeXmlAttribute, pagingCookieFrom, readFetchAttribute, setFetchAttributes } from './fetchxml.ts'

const FETCH =
  '<fetch version="1.0" count="50"><entity name="account"><attribute name="name"/></entity></fetch>'

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
  if (how === 2) return `&#${code};`
  if (how === 3) return `&#x${code.toString(16)};`
  return named[ch] ?? ch
}

describe('FetchXML attribute edits', () => {
  it('reads back any attribute value it wrote (entities decoded, nothing escaped twice)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (value) => {
        const xml = setFetchAttributes(FETCH, { 'paging-cookie': value, page: '2' })
        expect(readFetchAttribute(xml, 'paging-cookie')).toBe(value)
        expect(readFetchAttribute(xml, 'page')).toBe('2')
        expect(readFetchAttribute(xml, 'count')).toBe('50')
      }),
    )
  })

  it('decodes attribute values however their characters are written (named, decimal, hex references)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }), fc.nat(3))),
        (chars) => {
          const value = chars.map(([ch]) => ch).join('')
          const raw = chars.map(([ch, how]) => [...ch].map((c) => encodeChar(c, how)).join('')).join('')
          expect(decodeXmlAttribute(raw)).toBe(value)
          expect(readFetchAttribute(`<fetch distinct="false" x="${raw}"/>`, 'x')).toBe(value)
        },
      ),
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
    expect(readFetchAttribute(xml, 'paging-cookie')).toBe('a&b="1"')
  })

  it('still URL-decodes the twice-encoded cookie Dataverse sends', () => {
    const inner = '<cookie page="1"><accountid last="{A}" first="{B}" /></cookie>'
    const annotation = `<cookie pagenumber="2" pagingcookie="${encodeURIComponent(encodeURIComponent(inner))}" />`
    expect(pagingCookieFrom(annotation)).toBe(inner)
  })
})
