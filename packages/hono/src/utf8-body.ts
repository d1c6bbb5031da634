import type { MiddlewareHandler } from 'hono'
import { errorResponse } from './errors.ts'

const strict = new TextDecoder('utf-8', { fatal: true })

/**
 * Refuses a request body that is not valid UTF-8 with `400 { error: { code: 'invalid_body', message } }`, before a
 * route reads it. Without it, `c.req.json()` and `c.req.text()` decode each invalid byte as U+FFFD and the route
 * stores or acts on text the client never sent. Every body is checked, whatever its `Content-Type` (`c.req.json()`
 * reads any); a request without a body passes. Mount it after {@link apiBodyLimit} (it reads the whole body) and only
 * on routes that take text: a binary upload is refused.
 * @example
 * app.use('/api/*', apiBodyLimit(), apiUtf8Body())
 */
export function apiUtf8Body(): MiddlewareHandler {
  return async function apiUtf8BodyMiddleware(c, next) {
    if (!c.req.raw.body) return next()
    // The bytes stay cached on the request: the route's c.req.json() reads them from there.
    const bytes = await c.req.arrayBuffer()
    try {
      strict.decode(bytes)
    } catch {
      return errorResponse(
        c,
        400,
        'invalid_body',
        'The request body is not valid UTF-8 JSON: send the JSON encoded as UTF-8.',
      )
    }
    return next()
  }
}
