import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { jsonBody, newSessionId, parseFlow, SESSION } from './flow-state.ts'

const flow = { k: 'state', tid: 't', oid: 'o', org: 'https://contoso.crm.dynamics.com', intent: 'connect' }
const text = (o: unknown) => JSON.stringify(o)

describe('parseFlow: what a signed state or ticket must carry', () => {
  it('accepts a complete flow of the expected kind, for each intent', () => {
    for (const intent of ['connect', 'reconnect', 'change_org'])
      expect(parseFlow(text({ ...flow, intent }), 'state')).toEqual({ ...flow, intent })
    expect(parseFlow(text({ ...flow, k: 'ticket' }), 'ticket')).toEqual({ ...flow, k: 'ticket' })
  })

  it('refuses a state where a ticket is expected and the reverse (one signed value cannot stand in for the other)', () => {
    expect(parseFlow(text(flow), 'ticket')).toBeUndefined()
    expect(parseFlow(text({ ...flow, k: 'ticket' }), 'state')).toBeUndefined()
  })

  it('refuses a flow without a tenant, an admin, an org or a known intent', () => {
    for (const missing of ['tid', 'oid', 'org', 'intent', 'k']) {
      const f: Record<string, unknown> = { ...flow }
      delete f[missing]
      expect(parseFlow(text(f), 'state')).toBeUndefined()
    }
    for (const empty of ['tid', 'oid', 'org'])
      expect(parseFlow(text({ ...flow, [empty]: '' }), 'state')).toBeUndefined()
    expect(parseFlow(text({ ...flow, intent: 'delete' }), 'state')).toBeUndefined()
  })

  it('refuses a missing, empty or malformed value without throwing', () => {
    expect(parseFlow(undefined, 'state')).toBeUndefined()
    expect(parseFlow('', 'state')).toBeUndefined()
    expect(parseFlow('{not json', 'state')).toBeUndefined()
    expect(parseFlow('null', 'state')).toBeUndefined()
  })
})

describe('session ids', () => {
  it('are 43 url-safe characters that the SESSION pattern accepts, and never repeat', () => {
    const seen = new Set<string>()
    for (let i = 0; i < 200; i++) {
      const id = newSessionId()
      expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/)
      expect(SESSION.test(id)).toBe(true)
      seen.add(id)
    }
    expect(seen.size).toBe(200)
  })

  it('SESSION refuses ids too short, too long, or with other characters anywhere', () => {
    expect(SESSION.test('a'.repeat(31))).toBe(false)
    expect(SESSION.test('a'.repeat(32))).toBe(true)
    expect(SESSION.test('a'.repeat(64))).toBe(true)
    expect(SESSION.test('a'.repeat(65))).toBe(false)
    expect(SESSION.test(`${'a'.repeat(40)}.`)).toBe(false)
    expect(SESSION.test(`.${'a'.repeat(40)}`)).toBe(false)
    expect(SESSION.test(`${'a'.repeat(20)}+/=${'a'.repeat(20)}`)).toBe(false)
  })
})

describe('jsonBody', () => {
  const app = new Hono().post('/', async (c) => c.json({ body: (await jsonBody(c)) ?? null }))
  const post = async (body: string, type?: string) => {
    const res = await app.request('/', {
      method: 'POST',
      body,
      headers: type ? { 'content-type': type } : {},
    })
    return ((await res.json()) as { body: unknown }).body
  }

  it('reads a JSON object sent as application/json (any case, with parameters)', async () => {
    expect(await post('{"a":1}', 'application/json')).toEqual({ a: 1 })
    expect(await post('{"a":1}', 'Application/JSON; charset=utf-8')).toEqual({ a: 1 })
  })

  it('ignores another content type, a missing one, malformed JSON, arrays, null and scalars', async () => {
    expect(await post('{"a":1}', 'text/plain')).toBeNull()
    expect(await post('{"a":1}')).toBeNull()
    const bare = await app.request('/', { method: 'POST' })
    expect(bare.status).toBe(200)
    expect(await bare.json()).toEqual({ body: null })
    expect(await post('{"a":1}', 'text/plain; x=application/json')).toBeNull()
    expect(await post('{nope', 'application/json')).toBeNull()
    expect(await post('[1]', 'application/json')).toBeNull()
    expect(await post('null', 'application/json')).toBeNull()
    expect(await post('7', 'application/json')).toBeNull()
  })
})
