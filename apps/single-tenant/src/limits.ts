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

/** A form read by {@link readForm}, or why it could not be. */
export type FormResult =
  | { ok: true; form: Record<string, unknown> }
  | { ok: false; problem: 'unreadable' | 'not_utf8' }

const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * The submitted form. Unreadable: not a form, multipart without a boundary, a cut-off body. Not UTF-8: a byte, or a
 * percent-encoded byte, that is not UTF-8; the parser would turn it into U+FFFD and the app act on text nobody sent.
 */
export async function readForm(c: Context): Promise<FormResult> {
  const type = c.req.header('content-type') ?? ''
  const urlencoded = /^application\/x-www-form-urlencoded\b/i.test(type)
  if (!urlencoded && !/^multipart\/form-data\b/i.test(type)) return { ok: false, problem: 'unreadable' }
  let bytes: ArrayBuffer
  try {
    bytes = await c.req.arrayBuffer()
  } catch {
    return { ok: false, problem: 'unreadable' }
  }
  let text: string
  try {
    text = strictUtf8.decode(bytes)
  } catch {
    return { ok: false, problem: 'not_utf8' }
  }
  if (urlencoded && !percentEncodedUtf8(text)) return { ok: false, problem: 'not_utf8' }
  try {
    return { ok: true, form: await c.req.parseBody() }
  } catch {
    return { ok: false, problem: 'unreadable' }
  }
}

/** Whether each run of percent-encoded bytes is UTF-8 (decodeURIComponent throws where URLSearchParams would not). */
function percentEncodedUtf8(text: string): boolean {
  for (const [run] of text.matchAll(/(?:%[0-9A-Fa-f]{2})+/g)) {
    try {
      decodeURIComponent(run)
    } catch {
      return false
    }
  }
  return true
}
