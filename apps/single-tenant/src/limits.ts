import type { Context, MiddlewareHandler } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { createMiddleware } from 'hono/factory'

/** The largest request body the app reads: its forms carry a token and a short value. */
export const MAX_BODY_BYTES = 16 * 1024

/** 413, and the connection closed so that the rest of an oversized body is not waited for. */
export function tooLarge(c: Context, maxBytes: number): Response {
  c.header('Connection', 'close')
  return c.text(
    `The request body is larger than this app accepts (${maxBytes} bytes); it was not read. Send a smaller form.`,
    413,
  )
}

/**
 * Refuses, from the headers alone, a body that declares more than `maxBytes` (`Content-Length: 536870912` is
 * answered at once, without waiting for the body). Bodies sent without a length are counted as they arrive by
 * {@link limitStreamedBody}, after the request has shown it belongs to a session.
 */
export function refuseDeclaredOversize(maxBytes = MAX_BODY_BYTES): MiddlewareHandler {
  return createMiddleware(async (c, next) => {
    const declared = c.req.header('content-length')
    if (declared !== undefined && !(/^\d{1,15}$/.test(declared) && Number(declared) <= maxBytes)) {
      return tooLarge(c, maxBytes)
    }
    return next()
  })
}

/** Counts a chunked body while it streams in and answers 413 as soon as it passes `maxBytes` (hono's bodyLimit). */
export function limitStreamedBody(maxBytes = MAX_BODY_BYTES): MiddlewareHandler {
  return bodyLimit({ maxSize: maxBytes, onError: (c) => tooLarge(c, maxBytes) })
}

/** The submitted form, or undefined when it cannot be read (multipart without a boundary, a cut-off body). */
export async function readForm(c: Context): Promise<Record<string, unknown> | undefined> {
  const type = c.req.header('content-type') ?? ''
  if (!/^(application\/x-www-form-urlencoded|multipart\/form-data)\b/i.test(type)) return undefined
  try {
    return await c.req.parseBody()
  } catch {
    return undefined
  }
}
