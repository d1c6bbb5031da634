import { isDataverseError } from '@dataverse-s2s/webapi'
import { Hono, type MiddlewareHandler } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import { secureHeaders } from 'hono/secure-headers'
import type { SignIn, SignInFlow } from './auth.ts'
import type { AppConfig } from './config.ts'
import { loadDashboard } from './dashboard.ts'
import type { Environments } from './dataverse.ts'
import { MAX_BODY_BYTES, readForm, refuseDeclaredOversize } from './limits.ts'
import { createCookieSealer, createMemoryStore, type SessionData, type SessionStore } from './session.ts'
import { createSessions, csrfProtection, type SessionVariables } from './sessions.ts'
import { css, DashboardPage, ProblemPage, RefusedPage, SignedOutPage } from './views.tsx'

export interface AppOptions {
  config: AppConfig
  signIn: SignIn
  environments: Environments
  /** Where sessions live (default: in memory, fine for one instance). */
  sessionStore?: SessionStore<SessionData>
  /** The largest request body read, in bytes (default 16 KiB); larger ones get 413 without being read. */
  maxBodyBytes?: number
  /** Display name of the organization on the sign-in and refusal pages. */
  organization?: string
  /** Forwarded to the session manager (tests). */
  sessionTimeouts?: { idleTimeoutMs?: number; absoluteTimeoutMs?: number }
  now?: () => number
}

const FLOW_TTL_MS = 10 * 60_000

/**
 * The web app: sign-in for this tenant's users, a dashboard per environment read as the application user or,
 * on request, as the signed-in user (impersonation), and sign-out.
 */
export function createApp(options: AppOptions) {
  const { config, signIn, environments } = options
  const now = options.now ?? Date.now
  const secure = config.publicUrl.startsWith('https://')
  const organization = options.organization ?? 'your organization'
  const appOrigin = new URL(config.publicUrl).origin
  const sessions = createSessions({
    secrets: config.sessionSecrets,
    store: options.sessionStore ?? createMemoryStore<SessionData>(),
    secure,
    now,
    ...options.sessionTimeouts,
  })
  // The pending sign-in lives in a sealed cookie, not on the server: anonymous traffic cannot fill or evict it.
  const sealer = createCookieSealer(config.sessionSecrets)
  const maxBodyBytes = options.maxBodyBytes ?? MAX_BODY_BYTES
  const flowCookie = secure ? '__Host-signin' : 'signin'
  const defaultEnvironment = environments.list[0]!

  const app = new Hono<{ Variables: SessionVariables }>()
  // The security headers and no-store wrap every answer, the early refusals below (413, CSRF 403) included.
  app.use(
    secureHeaders({
      // The app serves no script, plugin, frame or base URL: forbid them all, so injected markup cannot run.
      contentSecurityPolicy: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'none'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        // The sign-out form's redirect goes on to Entra ID's logout page, and browsers apply form-action to it.
        formAction: ["'self'", config.authorityHost],
        frameAncestors: ["'none'"],
      },
      strictTransportSecurity: secure ? 'max-age=31536000' : false,
      // Not hono's default `no-referrer`: with it, browsers send `Origin: null` on our own form posts, which the
      // CSRF check must refuse. `same-origin` keeps the referrer inside the app and the Origin header intact.
      referrerPolicy: 'same-origin',
    }),
  )
  app.use(async (c, next) => {
    await next()
    // Pages show private data: never keep them in shared caches or the back-forward cache after sign-out.
    if (!c.res.headers.has('cache-control')) c.header('Cache-Control', 'no-store')
  })
  // From the headers alone, before anything reads it: a body declared larger than the limit is refused.
  app.use(refuseDeclaredOversize(maxBodyBytes))
  app.use(sessions.middleware)
  app.use(csrfProtection(appOrigin, { maxBodyBytes }))

  app.get('/app.css', (c) => c.body(css, 200, { 'content-type': 'text/css; charset=utf-8' }))
  app.get('/healthz', (c) => c.json({ ok: true }))

  app.get('/', async (c) => {
    const session = c.get('session')
    if (!session?.user) {
      const rejected = c.get('sessionRejected')
      const ended = rejected !== undefined && rejected !== 'missing'
      const notice = ended ? 'Your session has ended. Please sign in again.' : undefined
      return c.html(<SignedOutPage organization={organization} notice={notice} />, ended ? 401 : 200)
    }
    const current = environments.list.find((e) => e.name === session.environment) ?? defaultEnvironment
    const base = environments.client(current.name)!
    const client = session.actAsUser ? base.as({ callerObjectId: session.user.objectId }) : base
    try {
      const data = await loadDashboard(client, { signal: AbortSignal.timeout(60_000) })
      return c.html(
        <DashboardPage session={session} environments={environments.list} current={current} data={data} />,
      )
    } catch (error) {
      return c.html(
        <DashboardPage
          session={session}
          environments={environments.list}
          current={current}
          error={describeDataError(error, session.actAsUser === true)}
        />,
        502,
      )
    }
  })

  // Hono answers HEAD with the GET handler. These two GETs start and finish a sign-in (a cookie set, a code redeemed
  // once, a session started): a link prefetcher's or scanner's HEAD must do none of that.
  const getOnly: MiddlewareHandler = async (c, next) => {
    if (c.req.method !== 'HEAD') return next()
    return c.html(<ProblemPage title="Method not allowed" message="Open this address with GET." />, 405, {
      Allow: 'GET',
    })
  }

  app.get('/auth/signin', getOnly, async (c) => {
    const { url, flow } = await signIn.begin(c.req.query('returnTo') ?? '/')
    setCookie(c, flowCookie, sealer.seal(flowCookie, flow, now() + FLOW_TTL_MS), {
      path: '/',
      httpOnly: true,
      // Lax: the cookie must come back on the top-level GET redirect from Entra ID to /auth/callback.
      sameSite: 'Lax',
      secure,
      maxAge: FLOW_TTL_MS / 1000,
    })
    return c.redirect(url, 302)
  })

  app.get('/auth/callback', getOnly, async (c) => {
    const verdict = sealer.open(flowCookie, getCookie(c, flowCookie), now())
    // Single use: the cookie is gone after this answer, so a replayed callback finds no flow (and Entra ID redeems
    // a code once only).
    deleteCookie(c, flowCookie, { path: '/', secure })
    const flow = verdict.ok ? asSignInFlow(verdict.value) : undefined
    if (!flow) {
      return c.html(
        <ProblemPage
          title="Sign-in expired"
          message="This sign-in was already used, has expired, or was started in another browser. Sign in again."
        />,
        400,
      )
    }
    const result = await signIn.complete(flow, new URL(c.req.url).searchParams)
    if (!result.ok) {
      if (result.reason === 'refused') {
        return c.html(
          <RefusedPage organization={organization} message={result.message} username={result.username} />,
          403,
        )
      }
      return c.html(<ProblemPage title="Sign-in failed" message={result.message} />, 400)
    }
    await sessions.start(c, { user: result.user, environment: defaultEnvironment.name, actAsUser: false })
    return c.redirect(result.returnTo, 303)
  })

  app.post('/auth/signout', async (c) => {
    await sessions.destroy(c)
    return c.redirect(signIn.logoutUrl(`${config.publicUrl}/`), 303)
  })

  app.post('/environment', async (c) => {
    const session = c.get('session')!
    if (!session.user) return c.redirect('/', 303)
    const read = await readForm(c)
    if (!read.ok) return c.html(<UnreadableForm problem={read.problem} />, 400)
    const { form } = read
    const name = String(form['environment'] ?? '')
    if (!environments.list.some((e) => e.name === name)) {
      return c.html(
        <ProblemPage title="Unknown environment" message="Pick one of the listed environments." />,
        400,
      )
    }
    session.environment = name
    await sessions.save(session)
    return c.redirect('/', 303)
  })

  app.post('/impersonation', async (c) => {
    const session = c.get('session')!
    if (!session.user) return c.redirect('/', 303)
    const read = await readForm(c)
    if (!read.ok) return c.html(<UnreadableForm problem={read.problem} />, 400)
    const { form } = read
    session.actAsUser = form['actAsUser'] === 'true'
    await sessions.save(session)
    return c.redirect('/', 303)
  })

  app.notFound((c) =>
    c.html(<ProblemPage title="Not found" message="There is no page at this address." />, 404),
  )
  app.onError((error, c) => {
    console.error('request failed:', error instanceof Error ? error.name : 'error')
    return c.html(<ProblemPage title="Something went wrong" message="The request failed. Try again." />, 500)
  })
  return app
}

const UnreadableForm = ({ problem }: { problem: 'unreadable' | 'not_utf8' }) => (
  <ProblemPage
    title="Unreadable form"
    message={
      problem === 'not_utf8'
        ? 'The form is not valid UTF-8: nothing was changed. Reload the page and send it again.'
        : 'The form could not be read. Reload the page and send it again.'
    }
  />
)

function asSignInFlow(value: unknown): SignInFlow | undefined {
  const v = value as Partial<SignInFlow> | null
  const ok =
    typeof v?.state === 'string' &&
    typeof v.nonce === 'string' &&
    typeof v.codeVerifier === 'string' &&
    typeof v.returnTo === 'string'
  return ok ? (v as SignInFlow) : undefined
}

/** Exported for tests: what the dashboard says when Dataverse refuses a read. */
export function describeDataError(error: unknown, impersonating: boolean): string {
  if (isDataverseError(error)) {
    // Dataverse answers 404 ObjectDoesNotExist (0x80040217, "systemuser With Id = … Does Not Exist") when the
    // CallerObjectId names an Entra user who has no user in the environment (learn.microsoft.com:
    // power-apps/developer/data-platform/webapi/impersonate-another-user-web-api; the emulator does the same).
    if (error.status === 404 && impersonating) {
      return 'You have no user in this Dataverse environment, so Dataverse cannot act as you. Ask an administrator to add you to the environment, or read as the application user instead.'
    }
    if (error.status === 403 && impersonating) {
      return 'Dataverse refused to act as you: you have no user or not enough privileges in this environment, or the application user may not impersonate. Read as the application user instead.'
    }
    if (error.status === 403) {
      return 'Dataverse refused the application user: create it in this environment and give it a security role (see the README).'
    }
    if (error.status === 429) return 'Dataverse is throttling this app. Try again in a minute.'
    const transient = error.status === undefined || error.status >= 500 || error.status === 408
    return `Dataverse answered ${error.status ?? 'with an error'} (${error.code}).${transient ? ' Try again later.' : ' Retrying will not help: the request itself was refused.'}`
  }
  return 'The environment could not be reached. Check its URL and try again.'
}
