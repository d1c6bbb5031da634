import type { MiddlewareHandler } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { errorResponse, HonoS2SError } from './errors.ts'

/** Options of {@link apiBodyLimit}. */
export interface ApiBodyLimitOptions {
  /** The largest request body accepted, in bytes. Default 1 MiB. */
  maxBytes?: number
}

/**
 * Caps request bodies, built on Hono's own `hono/body-limit`: a body that declares a `Content-Length` above
 * `maxBytes` is answered at once (nothing is read, the connection is closed), and one sent without a length is
 * counted as it streams and refused as soon as it passes the limit. The refusal is `413` with
 * `{ error: { code: 'payload_too_large', message } }`. Mount it before anything that reads the body.
 * @param options.maxBytes default 1 MiB (1,048,576)
 * @throws HonoS2SError `INVALID_OPTIONS` when `maxBytes` is not a whole number of bytes
 * @example
 * app.use('/api/*', apiBodyLimit({ maxBytes: 256 * 1024 }))
 */
export function apiBodyLimit(options: ApiBodyLimitOptions = {}): MiddlewareHandler {
  const maxBytes = options.maxBytes ?? 1024 * 1024
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
    throw new HonoS2SError(
      'INVALID_OPTIONS',
      'apiBodyLimit: maxBytes must be a whole number of bytes, 0 or more.',
    )
  }
  const refuse: Parameters<typeof bodyLimit>[0]['onError'] = (c) =>
    errorResponse(
      c,
      413,
      'payload_too_large',
      `The request body is larger than this API accepts (${maxBytes} bytes). Send less data per request.`,
      { Connection: 'close' },
    )
  const limit = bodyLimit({ maxSize: maxBytes, onError: refuse })
  return async function apiBodyLimitMiddleware(c, next) {
    const declared = c.req.header('content-length')
    // RFC 9112 §6.3: an HTTP/1.x request with neither Content-Length nor Transfer-Encoding has no body. Skipping it
    // here spares every GET the cost of building the request body stream that hono's bodyLimit asks for.
    if (declared === undefined && !c.req.header('transfer-encoding') && isHttp1(c.env)) return next()
    // hono's bodyLimit trusts any Content-Length it can parse; a malformed one is refused here instead.
    if (declared !== undefined && !/^\d{1,15}$/.test(declared)) return refuse(c)
    return limit(c, next)
  }
}

/** True on Node's HTTP/1.x server (`@hono/node-server` passes the `IncomingMessage` as `env.incoming`). */
function isHttp1(env: unknown): boolean {
  const incoming = (env as { incoming?: { httpVersionMajor?: unknown } } | undefined)?.incoming
  return incoming?.httpVersionMajor === 1
}
