import fc from 'fast-check'
import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { apiBodyLimit, apiUtf8Body } from './index.ts'

function makeApp() {
  const app = new Hono()
  app.use('/api/*', apiBodyLimit({ maxBytes: 1024 }))
  app.use('/api/*', apiUtf8Body())
  app.post('/api/echo', (c) =>
    c.req.json().then(
      (body) => c.json({ body }),
      () => c.json({ error: 'not JSON' }, 422),
    ),
  )
  app.get('/api/ping', (c) => c.json({ ok: true }))
  return app
}
const post = (body: BodyInit, type = 'application/json') =>
  makeApp().request('/api/echo', { method: 'POST', headers: { 'Content-Type': type }, body })

describe('apiUtf8Body', () => {
  it('passes valid UTF-8 JSON (BMP, astral, a BOM) to the route unchanged', async () => {
    for (const name of [
      'plain',
      'Åsa Ørsted',
      'Emoji 😀 Ltd',
      '中文',
      '\u0000\u007f\u0080\u07ff\u0800\uffff',
    ]) {
      const res = await post(JSON.stringify({ name }))
      expect(res.status, name).toBe(200)
      expect(await res.json(), name).toEqual({ body: { name } })
    }
    const bom = await post(new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode('{"a":1}')]))
    expect(await bom.json()).toEqual({ body: { a: 1 } })
  })

  it('refuses invalid UTF-8 with 400 invalid_body and no-store, whatever the content type, before the route reads it', async () => {
    const bad = [
      [0xff],
      [0xc0, 0xaf], // overlong '/'
      [0xc3, 0x28], // cut-off two-byte sequence
      [0xed, 0xa0, 0x80], // a UTF-16 surrogate encoded in UTF-8
      [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
      [0xe2, 0x82], // truncated at the end of the value
    ]
    for (const bytes of bad) {
      for (const type of ['application/json', 'text/plain', 'application/octet-stream']) {
        const body = new Uint8Array([...new TextEncoder().encode('{"name":"x'), ...bytes, 0x22, 0x7d])
        const res = await post(body, type)
        expect(res.status, `${bytes} ${type}`).toBe(400)
        expect(res.headers.get('cache-control')).toBe('no-store')
        expect(await res.json()).toEqual({
          error: {
            code: 'invalid_body',
            message: 'The request body is not valid UTF-8 JSON: send the JSON encoded as UTF-8.',
          },
        })
      }
    }
  })

  it('lets a request without a body through, and leaves the body limit in charge of oversize bodies', async () => {
    expect((await makeApp().request('/api/ping')).status).toBe(200)
    const big = await post('x'.repeat(2048))
    expect(big.status).toBe(413)
  })

  it('refuses exactly the bodies that are not valid UTF-8 (any bytes)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 64 }), async (bytes) => {
        const valid = Buffer.from(Buffer.from(bytes).toString('utf8'), 'utf8').equals(Buffer.from(bytes))
        const res = await post(new Uint8Array([0x22, ...bytes, 0x22]))
        expect(res.status === 400, Buffer.from(bytes).toString('hex')).toBe(!valid)
      }),
      { seed: 20_260_517, numRuns: 300 },
    )
  })
})
