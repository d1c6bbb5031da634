import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/** One request exactly as it reached the server: the raw request target, headers and body. */
export interface Recorded {
  method: string
  /** The request target as sent on the request line (not re-encoded by any URL parser). */
  target: string
  headers: IncomingMessage['headers']
  body: string
  /** The body's bytes (a file upload). */
  raw: Buffer
}

export interface Reply {
  status: number
  headers?: Record<string, string>
  body?: string | object | Uint8Array
}

/**
 * A plain HTTP server on loopback that records every request and answers from a script: not the emulator, so the
 * client is checked against Microsoft's documented requests, not against our own idea of them. It refuses to answer
 * more than `maxRequests`, so a client that loops fails fast instead of hanging.
 */
export async function startRecordingServer(
  answer: (request: Recorded, index: number) => Reply,
  maxRequests = 50,
): Promise<{ origin: string; requests: Recorded[]; close(): Promise<void> }> {
  const requests: Recorded[] = []
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const recorded: Recorded = {
        method: req.method ?? '',
        target: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        raw: Buffer.concat(chunks),
      }
      requests.push(recorded)
      if (requests.length > maxRequests) {
        res.writeHead(400, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ error: { code: 'test', message: 'too many requests: the client loops' } }))
        return
      }
      const reply = answer(recorded, requests.length - 1)
      const binary = reply.body instanceof Uint8Array
      const body = binary
        ? (reply.body as Uint8Array)
        : typeof reply.body === 'object'
          ? JSON.stringify(reply.body)
          : (reply.body ?? '')
      res.writeHead(reply.status, {
        'odata-version': '4.0',
        ...(typeof reply.body === 'object' && !binary
          ? { 'content-type': 'application/json; odata.metadata=minimal' }
          : {}),
        ...reply.headers,
      })
      res.end(body)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    origin,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
