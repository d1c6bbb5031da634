import { relative } from 'node:path'
import { discoveryScope } from '@dataverse-s2s/core'
import {
  apiBodyLimit,
  apiSecureHeaders,
  dataverseClient,
  dataverseErrorResponse,
  errorResponse,
  isTenantAdministrator,
  onboardingRouter,
  resolveTenant,
  verifyUser,
} from '@dataverse-s2s/hono'
import { serveStatic } from '@hono/node-server/serve-static'
import { type Context, Hono, type MiddlewareHandler } from 'hono'
import { secureHeaders } from 'hono/secure-headers'
import { dataRoutes } from './routes/data.ts'
import type { Services } from './services.ts'

/** Where Entra ID sends the admin back after the consent: a redirect, answered with the API's headers. */
const CALLBACK_PATH = '/onboarding/callback'

/** The onboarding router of `@dataverse-s2s/hono` on the sample's services (its own paths are the defaults). */
export function onboarding(s: Services) {
  return onboardingRouter({
    registry: s.registry,
    verifier: s.onboardingVerifier,
    tokens: s.tokens,
    discovery: s.discovery,
    states: s.states,
    clients: s.clients,
    client: { ...(s.ca ? { ca: s.ca } : {}), userAgent: 'dataverse-s2s-multi-tenant-sample' },
    clientId: s.clientId,
    cloud: s.cloud,
    publicUrl: s.config.publicUrl,
    roleName: s.config.roleName,
    callbackPath: CALLBACK_PATH,
    verifyTables: ['accounts', 'contacts'],
    logger: s.logger,
  })
}

/** Whether a path names a dotfile or goes through a dot folder, after undoing up to three rounds of percent-encoding. */
function isHidden(path: string): boolean {
  let decoded = path
  for (let i = 0; i < 3; i++) {
    if (/(^|[/\\])\./.test(decoded)) return true
    try {
      const next = decodeURIComponent(decoded)
      if (next === decoded) return false
      decoded = next
    } catch {
      return true
    }
  }
  return /(^|[/\\])\./.test(decoded)
}

/** Whether a path is one of the SPA's pages or files rather than the API or the consent redirect. */
function isPage(path: string): boolean {
  return !(path === '/api' || path.startsWith('/api/') || path === CALLBACK_PATH)
}

/** The SPA's headers: its scripts, styles and calls to Entra ID only, never framed, no referrer. */
function spaSecureHeaders(authority: string, https: boolean): MiddlewareHandler {
  return secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      imgSrc: ["'self'", 'data:'],
      connectSrc: ["'self'", authority],
      frameSrc: [authority],
      frameAncestors: ["'none'"],
      baseUri: ["'self'"],
      formAction: ["'self'", authority],
      objectSrc: ["'none'"],
    },
    referrerPolicy: 'no-referrer',
    strictTransportSecurity: https ? 'max-age=31536000; includeSubDomains' : false,
    xFrameOptions: 'DENY',
  })
}

/**
 * Vite names the files under `assets/` by their content hash, so a browser may keep them for good; everything else
 * (`index.html`, the SPA fallback) is revalidated on each load, so a new deploy reaches users at once.
 */
function cacheControl(path: string, c: Context): void {
  c.header(
    'Cache-Control',
    /(^|\/)assets\/[^/]+$/.test(path) ? 'public, max-age=31536000, immutable' : 'no-cache',
  )
}

const notFound = (c: Context) => errorResponse(c, 404, 'not_found', 'There is nothing at this address.')

/** The largest request body the API reads (a record of a few hundred columns is far below it). */
const MAX_BODY_BYTES = 1024 * 1024

/** Options of {@link createApp}. */
export interface CreateAppOptions {
  /** Folder of the built SPA (`vite build`), served at `/`. Without it only the API is served. */
  staticRoot?: string
}

/**
 * The whole server: the SPA, its configuration, onboarding, tenant admin and the data API. Each request's Dataverse
 * client comes from the verified token's tenant through `@dataverse-s2s/hono`.
 */
export function createApp(s: Services, options: CreateAppOptions = {}): Hono {
  const app = new Hono()
  const https = s.config.publicUrl.startsWith('https:')

  app.use('*', async (c, next) => {
    const started = performance.now()
    await next()
    s.logger.info('request', {
      method: c.req.method,
      path: c.req.path.slice(0, 200),
      status: c.res.status,
      ms: Math.round(performance.now() - started),
      tenantId: c.get('user')?.tenantId,
      actor: c.get('actor'),
    })
  })
  // Every answer gets one set of security headers, 404s and refusals included: the SPA's pages (when there is a
  // static root) the page CSP, everything else (the API, the consent redirect, any answer without a SPA) the API's.
  const apiHeaders = apiSecureHeaders({ hsts: https })
  const pageHeaders = options.staticRoot ? spaSecureHeaders(s.cloud.authorityHost, https) : undefined
  app.use('*', (c, next) => (pageHeaders && isPage(c.req.path) ? pageHeaders(c, next) : apiHeaders(c, next)))
  // Before anything reads a body: a declared oversize body gets 413 at once, a chunked one is counted as it streams.
  app.use('/api/*', apiBodyLimit({ maxBytes: MAX_BODY_BYTES }))
  app.use('/onboarding/*', apiBodyLimit({ maxBytes: MAX_BODY_BYTES }))

  // What the SPA needs to sign users in (public values only).
  app.get('/api/config', (c) =>
    c.json({
      clientId: s.clientId,
      authority: `${s.cloud.authorityHost}/organizations`,
      authorityHost: s.cloud.authorityHost,
      knownAuthorities: [new URL(s.cloud.authorityHost).host],
      apiScope: s.apiScopeUri,
      redirectUri: s.config.publicUrl,
      mode: s.config.mode,
      // The Global Discovery Service lists the admin's environments to pick from (Learn: "Discover user
      // organizations"); the token's audience is the cloud's GDS (the emulator serves it on its own origin).
      ...(s.cloud.globalDiscoveryUrl
        ? {
            discoveryUrl: s.cloud.globalDiscoveryUrl,
            discoveryScope: discoveryScope(s.cloud.custom ? 'public' : s.cloud),
          }
        : {}),
    }),
  )

  app.route('/', onboarding(s))

  const data = [
    verifyUser({
      verifier: s.verifier,
      onDenied: (e) =>
        s.logger.warn('request refused', { code: e.code, status: e.status, path: e.path.slice(0, 200) }),
    }),
    resolveTenant({
      lookup: async (tid, c) => {
        const t = await s.registry.get(tid)
        if (!t) return undefined
        return {
          tenantId: t.tenantId,
          orgUrl: t.orgUrl,
          active: t.status === 'verified',
          reason:
            t.status === 'offboarded'
              ? 'Your organization was offboarded from this app: an administrator can connect it again.'
              : 'Your organization’s onboarding is not finished: an administrator must complete the set-up and verify the connection.',
          canAdminister: isTenantAdministrator(c.var.user, t.tenantId),
        }
      },
      onDenied: (e) =>
        s.logger.warn('request refused', { code: e.code, tenantId: e.tenantId, path: e.path.slice(0, 200) }),
    }),
    dataverseClient({
      tokens: s.tokens,
      client: s.ca ? { ca: s.ca } : {},
      // The impersonation switch: "act as me" sends CallerObjectId = the verified user's oid.
      impersonate: (c) => c.req.header('X-Act-As') === 'me',
    }),
  ] as const
  app.use('/api/me', ...data)
  app.use('/api/tables/*', ...data)
  app.route('/', dataRoutes(s))

  app.all('/api/*', (c) => errorResponse(c, 404, 'not_found', 'No such API route.'))

  if (options.staticRoot) {
    const root = relative(process.cwd(), options.staticRoot) || '.'
    // Only the built SPA: a dotfile or dot folder left in the folder (`.env`, `.git/`) is never served, however the
    // path is encoded (serveStatic decodes it).
    app.use('*', async (c, next) => (isHidden(c.req.path) ? notFound(c) : next()))
    app.use('*', serveStatic({ root, onFound: cacheControl }))
    app.get('*', serveStatic({ root, path: 'index.html', onFound: cacheControl }))
  }

  app.notFound(notFound)

  app.onError((error, c) => {
    const handled = dataverseErrorResponse(error, c)
    if (handled) {
      s.logger.warn('dataverse call failed', { status: handled.status, tenantId: c.get('user')?.tenantId })
      return handled
    }
    s.logger.error('unexpected error', { name: error.name, error: error.message })
    return errorResponse(c, 500, 'internal', 'Something went wrong on our side: try again.')
  })
  return app
}
