import type { MiddlewareHandler } from 'hono'
import { secureHeaders } from 'hono/secure-headers'

/** Options of {@link apiSecureHeaders}. */
export interface ApiSecureHeadersOptions {
  /** Send `Strict-Transport-Security` (default true; browsers ignore it on plain http). */
  hsts?: boolean
}

/**
 * Security headers for a JSON API that carries tenant data: a CSP that allows nothing (`default-src 'none';
 * frame-ancestors 'none'`), `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`, same-origin
 * resource and opener policies, HSTS, and `Cache-Control: no-store` so no proxy or browser cache keeps a tenant's
 * rows. Built on Hono's `secureHeaders`.
 * @example
 * app.use('/api/*', apiSecureHeaders())
 */
export function apiSecureHeaders(options: ApiSecureHeadersOptions = {}): MiddlewareHandler {
  const headers = secureHeaders({
    contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
    crossOriginResourcePolicy: 'same-origin',
    crossOriginOpenerPolicy: 'same-origin',
    referrerPolicy: 'no-referrer',
    strictTransportSecurity: options.hsts === false ? false : 'max-age=31536000; includeSubDomains',
    xFrameOptions: 'DENY',
  })
  return async function apiSecureHeadersMiddleware(c, next) {
    await headers(c, async () => {
      await next()
      const headers = c.res.headers
      if (headers.has('Cache-Control')) return
      try {
        headers.set('Cache-Control', 'no-store') // in place: c.header() would rebuild the response
      } catch {
        c.header('Cache-Control', 'no-store') // a response with immutable headers (e.g. a fetched one)
      }
    })
  }
}
