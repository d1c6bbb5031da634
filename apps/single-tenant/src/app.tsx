import { isDataverseError } from '@dataverse-s2s/webapi'
import { Hono } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import { secureHeaders } from 'hono/secure-headers'
import type { SignIn, SignInFlow } from './auth.ts'
import type { AppConfig } from './config.ts'
import { loadDashboard } from './dashboard.ts'
import type { Environments } from './dataverse.ts'
import {
  createCookieSigner,
  createMemoryStore,
  randomId,
  type SessionData,
  type SessionStore,
} from './session.ts'
import { createSessions, csrfProtection, type SessionVariables } from './sessions.ts'
import { css, DashboardPage, ProblemPage, RefusedPage, SignedOutPage } from './views.tsx'

export interface AppOptions {
  config: AppConfig
  signIn: SignIn
  environments: Environments
  /** Where sessions live (default: in memory, fine for one instance). */
  sessionStore?: SessionStore<SessionData>
  /** Where sign-in flows wait for the browser's return (default: in memory). */
  flowStore?: SessionStore<SignInFlow>
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
  const flows = options.flowStore ?? createMemoryStore<SignInFlow>()
  const signer = createCookieSigner(config.sessionSecrets)
  const flowCookie = secure ? '__Host-signin' : 'signin'
  const defaultEnvironment = environments.list[0]!

  const app = new Hono<{ Variables: SessionVariables }>()
  app.use(
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'self'"],
        formAction: ["'self'", config.authorityHost],
        frameAncestors: ["'none'"],
      },
      strictTransportSecurity: secure ? 'max-age=31536000' : false,
      // Not hono's default `no-referrer`: with it, browsers send `Origin: null` on our own form posts, which the
      // CSRF check must refuse. `same-origin` keeps the referrer inside the app and the Origin header intact.
      referrerPolicy: 'same-origin',
    }),
  )
  app.use(sessions.middleware)
  app.use(csrfProtection(appOrigin))
  app.use(async (c, next) => {
    await next()
    // Pages show private data: never keep them in shared caches or the back-forward cache after sign-out.
    if (!c.res.headers.has('cache-control')) c.header('Cache-Control', 'no-store')
  })

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

  app.get('/auth/signin', async (c) => {
    const { url, flow } = await signIn.begin(c.req.query('returnTo') ?? '/')
    const id = randomId()
    await flows.set(id, flow, FLOW_TTL_MS)
    setCookie(c, flowCookie, signer.sign(flowCookie, { id, expiresAt: now() + FLOW_TTL_MS }), {
      path: '/',
      httpOnly: true,
      // Lax: the cookie must come back on the top-level GET redirect from Entra ID to /auth/callback.
      sameSite: 'Lax',
      secure,
      maxAge: FLOW_TTL_MS / 1000,
    })
    return c.redirect(url, 302)
  })

  app.get('/auth/callback', async (c) => {
    const verdict = signer.verify(flowCookie, getCookie(c, flowCookie), now())
    deleteCookie(c, flowCookie, { path: '/', secure })
    // Single use: a replayed callback (same code and state) finds no flow.
    const flow = verdict.ok ? await flows.take(verdict.value.id) : undefined
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
    const name = String((await c.req.parseBody())['environment'] ?? '')
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
    session.actAsUser = (await c.req.parseBody())['actAsUser'] === 'true'
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

function describeDataError(error: unknown, impersonating: boolean): string {
  if (isDataverseError(error)) {
    if (error.status === 403 && impersonating) {
      return 'Dataverse refused to act as you: you have no user or not enough privileges in this environment, or the application user may not impersonate. Read as the application user instead.'
    }
    if (error.status === 403) {
      return 'Dataverse refused the application user: create it in this environment and give it a security role (see the README).'
    }
    if (error.status === 429) return 'Dataverse is throttling this app. Try again in a minute.'
    return `Dataverse answered ${error.status ?? 'with an error'} (${error.code}). Try again later.`
  }
  return 'The environment could not be reached. Check its URL and try again.'
}
