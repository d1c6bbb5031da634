import { request } from 'node:http'
import { serve as serveNode } from '@hono/node-server'
import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { HonoS2SError } from './errors.ts'
import { apiBodyLimit } from './index.ts'

function counting(chunkBytes: number, max = 1_000) {
  const seen = { chunks: 0 }
  const chunk = new Uint8Array(chunkBytes).fill(0x20)
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (seen.chunks >= max) return controller.close()
        seen.chunks++
        controller.enqueue(chunk)
      },
    },
    { highWaterMark: 0 },
  )
  return { stream, seen }
}

function makeApp(maxBytes = 1024) {
  const app = new Hono()
  app.use('/api/*', apiBodyLimit({ maxBytes }))
  app.post('/api/echo', async (c) => c.json({ length: (await c.req.text()).length }))
  return app
}

describe('apiBodyLimit', () => {
  it('passes a body within the limit to the route, whole', async () => {
    const res = await makeApp().request('/api/echo', { method: 'POST', body: 'x'.repeat(1024) })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ length: 1024 })
  })

  it('answers 413 at once to a declared 512 MB body, reading nothing', async () => {
    const { stream, seen } = counting(64 * 1024)
    const request = new Request('http://api.test/api/echo', {
      method: 'POST',
      headers: { 'content-length': String(512 * 1024 * 1024) },
      body: stream,
      duplex: 'half',
    } as RequestInit)
    const res = await makeApp().fetch(request)
    expect(res.status).toBe(413)
    expect(res.headers.get('connection')).toBe('close')
    expect(res.headers.get('cache-control')).toBe('no-store')
    expect(await res.json()).toMatchObject({ error: { code: 'payload_too_large' } })
    expect(seen.chunks).toBe(0)
  })

  it('counts a body without a length as it streams and stops just past the limit', async () => {
    const { stream, seen } = counting(256)
    const res = await makeApp().request('/api/echo', {
      method: 'POST',
      body: stream,
      duplex: 'half',
    } as RequestInit)
    expect(res.status).toBe(413)
    expect(seen.chunks).toBeLessThanOrEqual(1024 / 256 + 1)
  })

  it('refuses a malformed Content-Length and a bad option', async () => {
    const request = new Request('http://api.test/api/echo', {
      method: 'POST',
      headers: { 'content-length': '12abc' },
      body: new ReadableStream({ start: (c) => c.close() }),
      duplex: 'half',
    } as RequestInit)
    expect((await makeApp().fetch(request)).status).toBe(413)
    expect(() => apiBodyLimit({ maxBytes: -1 })).toThrow(HonoS2SError)
  })
})

describe('apiBodyLimit on a Node HTTP/1.1 server', () => {
  async function serve() {
    const app = new Hono()
    app.use('/api/*', apiBodyLimit({ maxBytes: 1024 }))
    // a route that reads whatever body arrives, whatever the method
    app.on(['GET', 'DELETE'], '/api/read', async (c) => c.json({ length: (await c.req.text()).length }))
    const server = await new Promise<ReturnType<typeof serveNode>>((resolve) => {
      const s = serveNode({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s))
    })
    const { port } = server.address() as { port: number }
    return { url: `http://127.0.0.1:${port}/api/read`, close: () => server.close() }
  }

  // A request without Content-Length or Transfer-Encoding has no body (RFC 9112 §6.3) and is passed straight
  // through; one that sends a body chunked, even on a method that rarely has one, is still counted and refused.
  it('passes bodiless requests and still refuses a chunked body on a DELETE', async () => {
    const s = await serve()
    try {
      expect(await (await fetch(s.url)).json()).toEqual({ length: 0 })
      expect(await (await fetch(s.url, { method: 'DELETE' })).json()).toEqual({ length: 0 })
      expect((await fetch(s.url, { method: 'DELETE', body: 'x'.repeat(2048) })).status).toBe(413)
      const chunked = await new Promise<number>((resolve, reject) => {
        const req = request(
          s.url,
          { method: 'DELETE', headers: { 'transfer-encoding': 'chunked' } },
          (res) => {
            res.resume()
            resolve(res.statusCode ?? 0)
          },
        )
        req.on('error', reject)
        for (let i = 0; i < 8; i++) req.write('x'.repeat(512))
        req.end()
      })
      expect(chunked).toBe(413)
    } finally {
      s.close()
    }
  })
})
