import { describe, expect, it } from 'vitest'
import { createDataverseClient, odata } from '../src/index.ts'

// A lone surrogate (half of a UTF-16 pair) is not text: it cannot be UTF-8 encoded into a URL. Every place that puts
// a caller's string into a query refuses it as INVALID_ARGUMENT naming the value, before anything is sent; a plain
// URIError would tell the caller nothing.
const LONE = 'Caf\uD83D'

describe('a lone surrogate in a query value', () => {
  const sent: string[] = []
  const client = createDataverseClient({
    url: 'https://org.example.com',
    getToken: () => 'tok',
    retry: false,
    fetch: async (url) => {
      sent.push(String(url))
      return new Response('{"value":[]}', { headers: { 'content-type': 'application/json' } })
    },
  })
  const refused = (what: string) =>
    expect.objectContaining({
      code: 'INVALID_ARGUMENT',
      message: `${what} contains an unpaired surrogate (not valid Unicode text); fix the value before sending it.`,
    })

  it('is refused in a filter, an alias, a function parameter and FetchXML, and nothing is sent', async () => {
    await expect(client.query('accounts', { filter: odata`name eq ${LONE}` })).rejects.toEqual(
      refused('$filter'),
    )
    await expect(client.query('accounts', { filter: 'name eq @n', aliases: { n: LONE } })).rejects.toEqual(
      refused('Parameter alias n'),
    )
    await expect(
      client.callFunction('GetTimeZoneCodeByLocalizedName', { LocalizedStandardName: LONE, LocaleId: 1033 }),
    ).rejects.toEqual(refused('Parameter LocalizedStandardName'))
    await expect(
      client.fetchXmlPage(
        'accounts',
        `<fetch><entity name="account"><filter><condition attribute="name" operator="eq" value="${LONE}"/></filter></entity></fetch>`,
      ),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('fetchXml') }) // the XML check sees it first
    expect(sent).toEqual([])
  })

  it('a whole surrogate pair (an emoji) is text and is sent', async () => {
    await client.query('accounts', { filter: odata`name eq ${'Café ☕ 😀'}` })
    expect(decodeURIComponent(sent.at(-1) ?? '')).toContain("name eq 'Café ☕ 😀'")
  })
})
