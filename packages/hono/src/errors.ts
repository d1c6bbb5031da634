import type { Context } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'

/** Codes of {@link HonoS2SError}. */
export type HonoS2SErrorCode = 'INVALID_OPTIONS' | 'MISSING_CONTEXT'

/** The error family of `@dataverse-s2s/hono`: misconfiguration found while building or running the middleware. */
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

/** Sends `{ error: { code, message } }` with `Cache-Control: no-store`. */
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
