import type { Context, MiddlewareHandler } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import { createMiddleware } from 'hono/factory'
import { limitStreamedBody, MAX_BODY_BYTES, readForm } from './limits.ts'
import {
  type CookieRejection,
  createCookieSigner,
  randomId,
  type SessionData,
  type SessionStore,
  safeEqual,
} from './session.ts'

export interface SessionOptions {
  secrets: readonly string[]
  store: SessionStore<SessionData>
  /** Sets `Secure` and the `__Host-` prefix; on whenever the app is served over https. */
  secure: boolean
  /** Sign-out after this long without a request. Default 30 minutes. */
  idleTimeoutMs?: number
  /** Sign-out this long after sign-in whatever happens. Default 8 hours. */
  absoluteTimeoutMs?: number
  now?: () => number
}

export interface SessionVariables {
  session: SessionData | undefined
  sessionRejected: CookieRejection | undefined
}

/**
 * Cookie sessions kept on the server: the cookie holds a random id and an expiry, signed with HMAC-SHA-256.
 * A cookie is refused when its signature does not match (tampered), its expiry has passed (expired), or the
 * server no longer knows the id (replayed after sign-out, after the session was rotated at sign-in, or after
 * the idle timeout).
 */
export function createSessions(options: SessionOptions) {
  const signer = createCookieSigner(options.secrets)
  const now = options.now ?? Date.now
  const idleTimeoutMs = options.idleTimeoutMs ?? 30 * 60_000
  const absoluteTimeoutMs = options.absoluteTimeoutMs ?? 8 * 60 * 60_000
  const cookieName = options.secure ? '__Host-session' : 'session'
  const { store } = options
  const ttl = (session: SessionData) => Math.max(1, session.createdAt + absoluteTimeoutMs - now())

  const writeCookie = (c: Context, session: SessionData) => {
    const expiresAt = session.createdAt + absoluteTimeoutMs
    setCookie(c, cookieName, signer.sign(cookieName, { id: session.id, expiresAt }), {
      path: '/',
      httpOnly: true,
      sameSite: 'Lax',
      secure: options.secure,
      maxAge: Math.floor(absoluteTimeoutMs / 1000),
    })
  }

  const middleware: MiddlewareHandler<{ Variables: SessionVariables }> = createMiddleware(async (c, next) => {
    const verdict = signer.verify(cookieName, getCookie(c, cookieName), now())
    let session: SessionData | undefined
    let rejected: CookieRejection | undefined
    if (verdict.ok) {
      const stored = await store.get(verdict.value.id)
      if (!stored || stored.id !== verdict.value.id) rejected = 'unknown-session'
      else if (now() - stored.lastSeenAt > idleTimeoutMs) {
        await store.delete(stored.id)
        rejected = 'expired'
      } else {
        session = stored
        if (now() - stored.lastSeenAt > 60_000) {
          session.lastSeenAt = now()
          await store.set(session.id, session, ttl(session))
        }
      }
    } else {
      rejected = verdict.reason
      if (verdict.reason === 'expired') {
        const id = getCookie(c, cookieName)?.split('.')[0]
        if (id) await store.delete(id)
      }
    }
    if (rejected && rejected !== 'missing') deleteCookie(c, cookieName, { path: '/', secure: options.secure })
    c.set('session', session)
    c.set('sessionRejected', rejected)
    await next()
  })

  return {
    cookieName,
    middleware,
    /** Starts a new session with a fresh id (never reusing the current one, against session fixation). */
    async start(c: Context, init: Omit<SessionData, 'id' | 'csrfToken' | 'createdAt' | 'lastSeenAt'>) {
      const previous = c.get('session') as SessionData | undefined
      if (previous) await store.delete(previous.id)
      const at = now()
      const session: SessionData = {
        ...init,
        id: randomId(),
        csrfToken: randomId(),
        createdAt: at,
        lastSeenAt: at,
      }
      await store.set(session.id, session, ttl(session))
      writeCookie(c, session)
      c.set('session', session)
      return session
    },
    async save(session: SessionData) {
      session.lastSeenAt = now()
      await store.set(session.id, session, ttl(session))
    },
    async destroy(c: Context) {
      const session = c.get('session') as SessionData | undefined
      if (session) await store.delete(session.id)
      deleteCookie(c, cookieName, { path: '/', secure: options.secure })
      c.set('session', undefined)
    },
  }
}

/**
 * Blocks cross-site state changes: every POST, PUT, PATCH or DELETE needs a session, the session's CSRF token in
 * the `_csrf` form field or the `x-csrf-token` header, and, when the browser sends one, an `Origin` equal to the
 * app's own. A refused request gets 403 and changes nothing.
 *
 * The origin and the session are checked from the headers first, so an anonymous or cross-site request is refused
 * before a byte of its body is read; a session's body is then counted as it streams (413 past `maxBodyBytes`), and
 * a form that cannot be parsed (multipart without a boundary) gets 400.
 */
export function csrfProtection(
  appOrigin: string,
  options: { maxBodyBytes?: number } = {},
): MiddlewareHandler<{ Variables: SessionVariables }> {
  const limit = limitStreamedBody(options.maxBodyBytes ?? MAX_BODY_BYTES)
  const refuse = (c: Context) =>
    c.text('This form was not sent by this app, or your session has ended. Reload the page and retry.', 403)
  return createMiddleware(async (c, next) => {
    if (['GET', 'HEAD', 'OPTIONS'].includes(c.req.method)) return next()
    const origin = c.req.header('origin')
    const fetchSite = c.req.header('sec-fetch-site')
    const session = c.get('session')
    const sameOrigin = origin === undefined ? fetchSite !== 'cross-site' : origin === appOrigin
    if (!sameOrigin || !session) return refuse(c)
    return limit(c, async () => {
      let token = c.req.header('x-csrf-token')
      const type = c.req.header('content-type') ?? ''
      if (token === undefined && /^(application\/x-www-form-urlencoded|multipart\/form-data)\b/i.test(type)) {
        const read = await readForm(c)
        if (!read.ok) {
          c.res = c.text(
            read.problem === 'not_utf8'
              ? 'The form is not valid UTF-8: nothing was changed. Reload the page and send it again.'
              : 'The form could not be read (a multipart body needs a boundary). Send it again.',
            400,
          )
          return
        }
        token = typeof read.form['_csrf'] === 'string' ? read.form['_csrf'] : undefined
      }
      if (token === undefined || !safeEqual(token, session.csrfToken)) {
        c.res = refuse(c)
        return
      }
      await next()
    })
  })
}
