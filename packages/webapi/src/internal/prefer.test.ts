import { describe, expect, it } from 'vitest'
import { createDataverseClient } from '../index.ts'
import { mergePrefer } from './prefer.ts'

describe('mergePrefer', () => {
  it('adds the caller’s preferences after the client’s own', () => {
    expect(mergePrefer('return=representation', 'odata.maxpagesize=5')).toBe(
      'return=representation,odata.maxpagesize=5',
    )
  })

  it('takes the caller’s Prefer as is when the call asks for nothing itself', () => {
    expect(mergePrefer(undefined, 'odata.track-changes')).toBe('odata.track-changes')
  })

  it('joins annotation lists, keeping commas inside the quotes, and lets * cover every other', () => {
    const own =
      'odata.include-annotations="Microsoft.Dynamics.CRM.fetchxmlpagingcookie,Microsoft.Dynamics.CRM.morerecords"'
    expect(mergePrefer(own, 'odata.include-annotations="OData.Community.Display.V1.FormattedValue"')).toBe(
      'odata.include-annotations="Microsoft.Dynamics.CRM.fetchxmlpagingcookie,Microsoft.Dynamics.CRM.morerecords,OData.Community.Display.V1.FormattedValue"',
    )
    expect(mergePrefer(own, 'odata.include-annotations="*"')).toBe('odata.include-annotations="*"')
  })

  it('sends a repeated preference once', () => {
    expect(mergePrefer('return=representation', 'Return = representation')).toBe('return=representation')
  })

  it('refuses a preference that contradicts the call’s options, naming both', () => {
    expect(() => mergePrefer('return=representation', 'return=minimal')).toThrow(
      expect.objectContaining({
        code: 'INVALID_ARGUMENT',
        message: expect.stringMatching(/return=minimal.*return=representation/),
      }),
    )
    expect(() => mergePrefer('odata.maxpagesize=10', 'odata.maxpagesize=50')).toThrow(/contradicts/)
  })
})

describe('Prefer through the client', () => {
  function capture(clientHeaders?: Record<string, string>) {
    const sent: Headers[] = []
    const client = createDataverseClient({
      url: 'https://org.example.com',
      getToken: () => 'tok',
      retry: false,
      ...(clientHeaders ? { headers: clientHeaders } : {}),
      fetch: async (_url, init) => {
        sent.push(new Headers(init?.headers))
        return new Response(JSON.stringify({ value: [] }), {
          status: 200,
          headers: { 'content-type': 'application/json' },
        })
      },
    })
    return { client, sent }
  }

  it('a query keeps its page size and formatted values when the call adds a Prefer', async () => {
    const { client, sent } = capture()
    await client.query('accounts', {
      maxPageSize: 3,
      formattedValues: true,
      headers: { prefer: 'odata.include-annotations="Microsoft.Dynamics.CRM.lookuplogicalname"' },
    })
    expect(sent[0]?.get('prefer')).toBe(
      'odata.include-annotations="OData.Community.Display.V1.FormattedValue,Microsoft.Dynamics.CRM.lookuplogicalname",odata.maxpagesize=3',
    )
  })

  it('a Prefer in the client’s headers adds to each call’s own', async () => {
    const { client, sent } = capture({ Prefer: 'odata.include-annotations="*"' })
    await client.query('accounts', { maxPageSize: 3 })
    await client.query('accounts')
    expect(sent[0]?.get('prefer')).toBe('odata.maxpagesize=3,odata.include-annotations="*"')
    expect(sent[1]?.get('prefer')).toBe('odata.include-annotations="*"')
  })

  it('a contradicting Prefer is refused before anything is sent', async () => {
    const { client, sent } = capture()
    await expect(
      client.query('accounts', { maxPageSize: 3, headers: { Prefer: 'odata.maxpagesize=500' } }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    expect(sent).toHaveLength(0)
  })
})
