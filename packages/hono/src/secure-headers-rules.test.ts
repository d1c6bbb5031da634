import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { apiSecureHeaders } from './secure-headers.ts'

// Cache-Control of apiSecureHeaders, response kind by response kind (found by mutation testing: `pnpm mutate hono`).

describe('apiSecureHeaders: Cache-Control', () => {
  const app = new Hono()
  app.use('*', apiSecureHeaders())
  app.get('/json', (c) => c.json({ rows: [] }))
  app.get('/cached', (c) => c.json({}, 200, { 'Cache-Control': 'public, max-age=60' }))
  // Response.redirect() has immutable headers, as a response passed through from fetch() does.
  app.get('/immutable', () => Response.redirect('https://example.com/next', 302))

  it('adds no-store to a response without Cache-Control', async () => {
    expect((await app.request('/json')).headers.get('Cache-Control')).toBe('no-store')
  })

  it('keeps the Cache-Control a handler set', async () => {
    expect((await app.request('/cached')).headers.get('Cache-Control')).toBe('public, max-age=60')
  })

  it('adds no-store to a response whose headers are immutable, keeping its status and location', async () => {
    const res = await app.request('/immutable')
    expect(res.status).toBe(302)
    expect(res.headers.get('Location')).toBe('https://example.com/next')
    expect(res.headers.get('Cache-Control')).toBe('no-store')
  })
})

describe('apiSecureHeaders: the response itself', () => {
  it('sets no-store on the handler’s own Response object instead of rebuilding it', async () => {
    let made: Response | undefined
    const app = new Hono()
    app.use('*', apiSecureHeaders())
    app.get('/', (c) => {
      made = c.json({ ok: true })
      return made
    })
    const res = await app.request('/')
    expect(res).toBe(made)
    expect(res.headers.get('Cache-Control')).toBe('no-store')
  })
})
