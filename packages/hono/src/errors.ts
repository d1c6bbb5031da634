import type { Context } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'

/** Codes of {@link HonoS2SError}. */
export type HonoS2SErrorCode = 'INVALID_OPTIONS' | 'MISSING_CONTEXT'

/**
 * The error family of `@dataverse-s2s/hono`: misconfiguration found while building or running the middleware.
 * @example
 * try {
 *   app.use('/api/*', dataverseClient({ tokens }))
 * } catch (error) {
 *   // Thrown while the app is built: a required option is missing.
 *   if (error instanceof HonoS2SError && error.code === 'INVALID_OPTIONS') console.error(error.message)
 *   throw error
 * }
 */
export class HonoS2SError extends Error {
  override name = 'HonoS2SError'
  constructor(
    readonly code: HonoS2SErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options)
  }
}

/** The JSON body of every refusal: a stable machine-readable `code` and a message that says what to do. */
export interface ErrorBody {
  error: { code: string; message: string; requestId?: string }
}

/**
 * Sends `{ error: { code, message } }` with `Cache-Control: no-store`.
 * @example
 * app.get('/api/reports', (c) => errorResponse(c, 503, 'reports_paused', 'Reports are paused for maintenance: try again in a minute.', { 'Retry-After': '60' }))
 */
export function errorResponse(
  c: Context,
  status: ContentfulStatusCode,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): Response {
  c.header('Cache-Control', 'no-store')
  for (const [k, v] of Object.entries(headers)) c.header(k, v)
  return c.json({ error: { code, message } } satisfies ErrorBody, status)
}
