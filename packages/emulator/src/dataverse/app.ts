import { randomUUID } from 'node:crypto'
import { Hono } from 'hono'
import { declaresTooLarge, MAX_ORG_BODY_BYTES, readBytesWithin } from '../body-limit.ts'
import type { Counters, Faults } from '../faults.ts'
import type { OrgInfo } from '../world/types.ts'
import type { World } from '../world/world.ts'
import { callContext, type PrivilegeCache, resolveCaller, type TokenVerifier, Unauthorized } from './auth.ts'
import { countRequests, executeBatch, parseBatch } from './batch.ts'
import { DataverseFault, Fault } from './errors.ts'
import type { Admission, Limiter } from './limits.ts'
import type { OrgCore } from './org-core.ts'
import { type ApiResponse, faultResponse, parsePrefer } from './request.ts'

/** The mutable state behind one org's app (the core is replaced on reset / restore). */
export interface OrgState {
  core: OrgCore
  org: OrgInfo
  world: World
  verifier: TokenVerifier
  privileges: PrivilegeCache
  limiter: Limiter
  faults: Faults
  counters: Counters
}

const EXPOSED_HEADERS = [
  'OData-EntityId',
  'OData-Version',
  'ETag',
  'Location',
  'Preference-Applied',
  'Retry-After',
  'WWW-Authenticate',
  'x-ms-ratelimit-burst-remaining-xrm-requests',
  'x-ms-ratelimit-time-remaining-xrm-requests',
  'x-ms-service-request-id',
  'x-ms-dop-hint',
  // Learn, Use file column data: the file column responses expose these to browser scripts
  'x-ms-chunk-size',
  'x-ms-file-name',
  'x-ms-file-size',
  'mimetype',
].join(', ')

const tooLarge = () =>
  new DataverseFault(
    413,
    '0x80040203',
    `The request body is larger than the emulator accepts (${MAX_ORG_BODY_BYTES} bytes). Send fewer records per request.`,
  )

function challenge(state: OrgState): string {
  const url = state.org.url
  // Dataverse's challenge, as the Dataverse ServiceClient's authority resolver parses it (DOMAIN.md §2.4).
  return `Bearer authorization_uri=${state.world.authorityUrl}/${state.org.tenantId}/oauth2/authorize, resource_id=${url}/`
}

function toResponse(r: ApiResponse, extra: Record<string, string>): Response {
  // a plain header object keeps @hono/node-server on its fast path (no Headers object per response)
  const headers: Record<string, string> = { ...extra, ...r.headers }
  return new Response(
    r.status === 204 || r.status === 304 ? null : ((r.body as BodyInit | undefined) ?? null),
    {
      status: r.status,
      headers,
    },
  )
}

/** The Hono app of one org: the Web API under `/api/data/v9.x/`, a 401 challenge for unauthenticated calls. */
export function createOrgApp(state: OrgState): Hono {
  const app = new Hono()
  // A body declared larger than the bound is refused from the headers, before authentication reads anything.
  app.use('*', async (c, next) => {
    if (!declaresTooLarge(c.req.raw, MAX_ORG_BODY_BYTES)) return next()
    c.header('Connection', 'close')
    return toResponse(faultResponse(tooLarge()), { 'OData-Version': '4.0', Connection: 'close' })
  })
  app.use('/api/*', state.faults.middleware(state.org.id))
  app.all('*', async (c) => {
    const requestId = randomUUID()
    const base: Record<string, string> = {
      'OData-Version': '4.0',
      'x-ms-service-request-id': requestId,
      REQ_ID: requestId,
    }
    // Dataverse allows cross-origin calls from single-page apps that bring their own OAuth token
    // (Dataverse docs, "Use OAuth with Cross-Origin Resource Sharing to connect a Single-Page Application").
    const origin = c.req.header('origin')
    if (origin) {
      base['Access-Control-Allow-Origin'] = origin
      base['Access-Control-Expose-Headers'] = EXPOSED_HEADERS
      base.Vary = 'Origin'
      if (c.req.method === 'OPTIONS' && c.req.header('access-control-request-method')) {
        return new Response(null, {
          status: 200,
          headers: {
            ...base,
            'Access-Control-Allow-Methods': 'GET, POST, PATCH, PUT, DELETE, OPTIONS',
            'Access-Control-Allow-Headers':
              c.req.header('access-control-request-headers') ??
              'Authorization, Content-Type, Accept, OData-Version, OData-MaxVersion, Prefer, If-Match, If-None-Match',
            'Access-Control-Max-Age': '3600',
          },
        })
      }
    }
    const url = new URL(c.req.url)
    const count = (callerId: string, status: number) =>
      state.counters.dataverseRequest(state.org.id, callerId, status)
    if (!url.pathname.startsWith('/api/data/') && !url.pathname.startsWith('/api/search/')) {
      count('anonymous', 404)
      return toResponse(faultResponse(Fault.noResource(url.href)), base)
    }
    const auth = (c.req.header('authorization') ?? '').trim()
    const space = auth.indexOf(' ')
    const token =
      space > 0 && auth.slice(0, space).toLowerCase() === 'bearer' ? auth.slice(space + 1).trim() : ''
    const unauthorized = () => {
      count('anonymous', 401)
      return new Response(null, { status: 401, headers: { ...base, 'WWW-Authenticate': challenge(state) } })
    }
    if (token === '' || token.includes(' ')) return unauthorized()
    let claims: Awaited<ReturnType<TokenVerifier['verify']>>
    try {
      claims = state.verifier.cached(token) ?? (await state.verifier.verify(token))
    } catch (e) {
      if (e instanceof Unauthorized) return unauthorized()
      throw e
    }
    const core = state.core
    const principal = String(claims.appid ?? claims.azp ?? claims.oid ?? 'unknown')
    let callerId = principal
    let admission: Admission | undefined
    try {
      const caller = resolveCaller(core, claims)
      callerId = core.table('systemuser').id(caller)
      admission = state.limiter.admit(callerId)
      const ctx = callContext(core, caller, c.req.raw.headers, state.privileges)
      const method = c.req.method.toUpperCase()
      // Read only after the token was verified, and counted as it streams.
      const bytes =
        method === 'GET' || method === 'HEAD'
          ? undefined
          : await readBytesWithin(c.req.raw, MAX_ORG_BODY_BYTES)
      if (bytes === undefined && method !== 'GET' && method !== 'HEAD') throw tooLarge()
      const body = bytes?.toString('utf8')
      let response: ApiResponse
      if (method === 'POST' && /^\/api\/data\/v9\.[0-2]\/\$batch$/.test(url.pathname)) {
        const items = parseBatch(body ?? '', c.req.header('content-type') ?? null)
        state.limiter.charge(callerId, countRequests(items) - 1)
        const root = core.serviceRoot(url, url.pathname.split('/')[3] as string)
        response = executeBatch(core, ctx, items, root, parsePrefer(c.req.raw.headers).continueOnError)
        if (parsePrefer(c.req.raw.headers).continueOnError)
          response.headers['Preference-Applied'] = 'odata.continue-on-error'
      } else {
        response = core.execute(ctx, { method, url, headers: c.req.raw.headers, body, bytes })
      }
      count(callerId, response.status)
      return toResponse(response, {
        ...base,
        ...admission.headers,
        'x-ms-dop-hint': String(state.limiter.limits.recommendedDegreeOfParallelism),
      })
    } catch (e) {
      const r = faultResponse(e)
      count(callerId, r.status)
      return toResponse(r, base)
    } finally {
      admission?.done()
    }
  })
  // a bug must still answer in Dataverse's shape (0x80040216, "An unexpected error occurred.") and never leak details
  app.onError(() => {
    const r = faultResponse(new Error('unexpected'))
    return toResponse(r, { 'OData-Version': '4.0', 'x-ms-service-request-id': randomUUID() })
  })
  return app
}
