import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { rootCertificates } from 'node:tls'
import { Agent } from 'undici'
import { afterEach, describe, expect, it } from 'vitest'
import { within } from '../../test/runaway.ts'
import type { HttpRequest } from '../internal/http.ts'
import { createTransport, trustedCertificates } from './node.ts'

// The Node transport on a real loopback server: how it reads status, headers and body (in chunks, with a byte order
// mark, cut off), and how a caller's signal ends an exchange before or after the headers.

type Handler = (req: IncomingMessage, res: ServerResponse) => void

const servers: { close(): void; closeAllConnections(): void }[] = []
afterEach(() => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections()
    s.close()
  }
})

async function serve(handler: Handler): Promise<string> {
  const server = createServer(handler)
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

const get = (origin: string, signal?: AbortSignal): HttpRequest => ({
  method: 'GET',
  url: `${origin}/api/data/v9.2/accounts`,
  origin,
  path: '/api/data/v9.2/accounts',
  headers: { accept: 'application/json' },
  body: undefined,
  signal,
})

const send = (request: HttpRequest, options = {}) =>
  within(createTransport(options)(request), 'the exchange', 5_000)

describe('Node transport', () => {
  it('reads the status, every header (repeated ones joined) and the body', async () => {
    let seen: IncomingMessage | undefined
    const origin = await serve((req, res) => {
      seen = req
      res.setHeader('x-ms-dop-hint', '4')
      res.setHeader('set-cookie', ['a=1', 'b=2'])
      res.writeHead(201, { 'content-type': 'application/json' })
      res.end('{"ok":true}')
    })
    const response = await send(get(origin))
    expect(response.status).toBe(201)
    const { header } = response // passed around on its own by the pipeline
    expect(header('x-ms-dop-hint')).toBe('4')
    expect(header('set-cookie')).toBe('a=1, b=2')
    expect(header('absent')).toBeUndefined()
    expect(await within(response.text(), 'text()', 5_000)).toBe('{"ok":true}')
    expect(seen?.url).toBe('/api/data/v9.2/accounts')
    expect(seen?.headers.accept).toBe('application/json')
  })

  it('sends a body, and decodes a body whose characters are split across chunks, without a byte order mark', async () => {
    let received = ''
    const text = '{"city":"Zürich","name":"東京"}'
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)])
    const origin = await serve((req, res) => {
      req.setEncoding('utf8')
      req.on('data', (c: string) => {
        received += c
      })
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' })
        const cut = bytes.indexOf(Buffer.from('東')) + 1 // inside the first character of 東京
        res.write(bytes.subarray(0, cut))
        setTimeout(() => res.end(bytes.subarray(cut)), 20)
      })
    })
    const response = await send({ ...get(origin), method: 'POST', body: '{"name":"Ø"}' })
    expect(await within(response.text(), 'text()', 5_000)).toBe(text)
    expect(received).toBe('{"name":"Ø"}')
  })

  it('answers a body-less response with empty text, and discard waits for its end', async () => {
    const origin = await serve((_req, res) => {
      res.writeHead(204)
      res.end()
    })
    const response = await send(get(origin))
    expect(response.status).toBe(204)
    await expect(within(response.discard(), 'discard()', 5_000)).resolves.toBeUndefined()
    expect(await within(response.text(), 'text()', 5_000)).toBe('')
  })

  it('refuses at once a signal that is already aborted, without connecting', async () => {
    let requests = 0
    const origin = await serve((_req, res) => {
      requests++
      res.end()
    })
    const reason = new Error('gone')
    await expect(send(get(origin, AbortSignal.abort(reason)))).rejects.toBe(reason)
    expect(requests).toBe(0)
  })

  it('a caller’s signal ends an exchange that waits for its headers', async () => {
    const origin = await serve(() => undefined) // never answers
    const controller = new AbortController()
    const pending = send(get(origin, controller.signal))
    setTimeout(() => controller.abort(new Error('stop')), 20)
    await expect(pending).rejects.toThrow('stop')
  })

  it('a caller’s signal ends a body that stops halfway, and discard still resolves', async () => {
    const origin = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' })
      res.write('{"value":[')
    })
    const controller = new AbortController()
    const response = await send(get(origin, controller.signal))
    const text = within(response.text(), 'text()', 5_000)
    controller.abort(new Error('enough'))
    await expect(text).rejects.toThrow('enough')
    await expect(within(response.discard(), 'discard()', 5_000)).resolves.toBeUndefined()
  })

  it('a connection cut in the middle of the body fails the text, not the response', async () => {
    const origin = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' })
      res.write('{"value":[', () => res.socket?.destroy())
    })
    const response = await send(get(origin))
    expect(response.status).toBe(200)
    await expect(within(response.text(), 'text()', 5_000)).rejects.toThrow()
  })

  it('refuses a request path the HTTP client cannot send as an error with undici’s code (not sent)', async () => {
    const origin = await serve((_req, res) => res.end())
    const error = await send({
      ...get(origin),
      path: "/api/data/v9.2/contacts(address1_city='Gdańsk')",
    }).catch((e: unknown) => e)
    expect((error as { code?: string }).code).toBe('UND_ERR_INVALID_ARG')
  })

  it('a dispatcher the caller passes is used (through its request API)', async () => {
    const origin = await serve((_req, res) => {
      res.writeHead(200, { 'x-from': 'server' })
      res.end('hi')
    })
    const dispatcher = new Agent()
    let dispatched = 0
    const spy = new Proxy(dispatcher, {
      get(target, property, receiver) {
        if (property === 'dispatch') dispatched++
        return Reflect.get(target, property, receiver)
      },
    })
    try {
      const response = await send(get(origin), { dispatcher: spy })
      expect(response.header('x-from')).toBe('server')
      expect(await within(response.text(), 'text()', 5_000)).toBe('hi')
      expect(dispatched).toBeGreaterThan(0)
    } finally {
      await dispatcher.close()
    }
  })
})

describe('Node transport: extra trusted CAs', () => {
  it("trusts Node's roots and the extra CAs, not the extra CAs alone", () => {
    const extra = ['-----BEGIN CERTIFICATE-----\nextra\n-----END CERTIFICATE-----\n']
    const trusted = trustedCertificates(extra)
    expect(trusted).toEqual([...rootCertificates, ...extra])
    expect(rootCertificates.length).toBeGreaterThan(50)
  })
})
