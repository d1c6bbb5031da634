import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  createConsentStateManager,
  DiscoveryError,
  defineCloud,
  TokenError,
  type UserTokenVerifier,
  VerificationError,
  type VerifiedUser,
} from '@dataverse-s2s/core'
import { createDataverseClient } from '@dataverse-s2s/webapi'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DataverseClientCache } from '../dataverse.ts'
import type { OnboardingRouterOptions } from './options.ts'
import { onboardingRouter } from './router.ts'
import type { TenantEvent, TenantRecord, TenantRegistry } from './types.ts'

// The onboarding routes rule by rule, with stand-ins for the verifier, the registry, the token provider, the
// discovery and a tiny local "org" over plain HTTP (found by mutation testing: `pnpm mutate hono`). The whole flow
// against the emulator and PGlite is in router.test.ts.

const TID = '11111111-2222-3333-4444-555555555555'
const OTHER_TID = '99999999-2222-3333-4444-555555555555'
const OID = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee'
const OTHER_OID = 'bbbbbbbb-bbbb-cccc-dddd-eeeeeeeeeeee'
const APP_ID = '12345678-1234-1234-1234-123456789012'
const ORG = 'https://contoso.crm.dynamics.com'
const ORG2 = 'https://contoso-eu.crm4.dynamics.com'
const COOKIE = '__Host-dvs2s-session'
const SESSION_ID = 'S'.repeat(43)
const JWT = 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.sig'

// The fake org: answers the application-user lookups of provisioning and the WhoAmI/read of a check.
let org: Server
let orgUrl = ''
let orgMode: 'ok' | 'unavailable' = 'ok'
const orgRequests: { url: string; userAgent: string | undefined; authorization: string | undefined }[] = []
beforeAll(async () => {
  org = createServer((req: IncomingMessage, res) => {
    orgRequests.push({
      url: req.url ?? '',
      userAgent: req.headers['user-agent'],
      authorization: req.headers.authorization,
    })
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(JSON.stringify(body))
    }
    // Retry-After: 0, so a client that wrongly retried would do so at once, and the test fail on its count.
    if (orgMode === 'unavailable') {
      res.setHeader('retry-after', '0')
      return json(503, { error: { code: '0x0', message: 'busy' } })
    }
    const url = decodeURIComponent(req.url ?? '')
    const user = 'cccccccc-0000-0000-0000-000000000001'
    const role = 'cccccccc-0000-0000-0000-000000000002'
    const bu = 'cccccccc-0000-0000-0000-000000000003'
    if (url.includes('/systemusers('))
      return json(200, { systemuserid: user, systemuserroles_association: [{ roleid: role }] })
    if (url.includes('/systemusers'))
      return json(200, { value: [{ systemuserid: user, isdisabled: false, _businessunitid_value: bu }] })
    if (url.includes('/roles')) return json(200, { value: [{ roleid: role }] })
    if (url.includes('/WhoAmI')) return json(200, { UserId: user, BusinessUnitId: bu, OrganizationId: bu })
    return json(200, { value: [] })
  })
  await new Promise<void>((resolve) => org.listen(0, '127.0.0.1', resolve))
  orgUrl = `http://127.0.0.1:${(org.address() as AddressInfo).port}`
})
afterAll(async () => {
  await new Promise<void>((resolve) => org.close(() => resolve()))
})

const record = (over: Partial<TenantRecord> = {}): TenantRecord => ({
  tenantId: TID,
  orgUrl: ORG,
  status: 'verified',
  onboardedBy: OID,
  onboardedByName: 'Ada',
  consentedAt: new Date('2026-01-01T00:00:00Z'),
  provisionedAt: null,
  verifiedAt: null,
  offboardedAt: null,
  lastCheckAt: null,
  lastCheckOk: null,
  lastCheckDetail: null,
  createdAt: new Date('2026-01-01T00:00:00Z'),
  updatedAt: new Date('2026-01-01T00:00:00Z'),
  ...over,
})

type Log = { level: 'info' | 'warn'; message: string; fields?: Record<string, unknown> }

function setup(
  init: {
    tenant?: TenantRecord
    registry?: Partial<TenantRegistry>
    tokens?: Partial<OnboardingRouterOptions['tokens']>
    discover?: (url: string) => Promise<{ tenantId: string; orgUrl: string }>
    states?: Partial<OnboardingRouterOptions['states']>
    options?: Partial<OnboardingRouterOptions>
    silent?: boolean
  } = {},
) {
  const tenants = new Map<string, TenantRecord>(init.tenant ? [[init.tenant.tenantId, init.tenant]] : [])
  const calls: { what: string; args: unknown[] }[] = []
  const logs: Log[] = []
  const event: TenantEvent = {
    id: 7,
    tenantId: TID,
    at: new Date('2026-01-02T00:00:00Z'),
    action: 'connected',
    fromStatus: null,
    toStatus: 'consented',
    actorObjectId: OID,
    actorName: 'Ada',
    detail: ORG,
  }
  const registry: TenantRegistry = {
    get: async (tid) => tenants.get(tid),
    list: async () => [...tenants.values()],
    events: async (tid) => (tenants.has(tid) ? [event] : []),
    connect: async (input, by) => {
      calls.push({ what: 'connect', args: [input, by] })
      const t = record({ ...input, status: 'consented' })
      tenants.set(t.tenantId, t)
      return t
    },
    reconnect: async (tid, url, by) => {
      calls.push({ what: 'reconnect', args: [tid, url, by] })
      return record({ orgUrl: url, status: 'consented' })
    },
    changeOrgUrl: async (tid, url, by) => {
      calls.push({ what: 'changeOrgUrl', args: [tid, url, by] })
      return record({ orgUrl: url, status: 'consented' })
    },
    markProvisioned: async (tid, by) => {
      calls.push({ what: 'markProvisioned', args: [tid, by] })
      return tenants.get(tid)
    },
    recordCheck: async (tid, check, by) => {
      calls.push({ what: 'recordCheck', args: [tid, check, by] })
      return tenants.get(tid)
    },
    offboard: async (tid, by) => {
      calls.push({ what: 'offboard', args: [tid, by] })
      return record({ status: 'offboarded' })
    },
    consumeConsentState: async () => true,
    close: async () => {},
    ...init.registry,
  }
  const states = {
    ...createConsentStateManager({ secret: 'routes-rules-secret-0123456789-abcdefghij' }),
    ...init.states,
  }
  const clients: DataverseClientCache = {
    get: (tid, url) => {
      calls.push({ what: 'clients.get', args: [tid, url] })
      return createDataverseClient({ url: orgUrl, getToken: () => 'app-token', retry: false })
    },
    delete: (tid, url) => calls.push({ what: 'clients.delete', args: [tid, url] }),
    size: 0,
  }
  const verifier = {
    verify: async (token: string) => {
      const [oid, tid] = token.split('~')
      return { objectId: oid, tenantId: tid, name: 'Ada' } as unknown as VerifiedUser
    },
  } as unknown as UserTokenVerifier
  const options: OnboardingRouterOptions = {
    registry,
    verifier,
    tokens: {
      getToken: async (req) => {
        calls.push({ what: 'getToken', args: [req] })
        return { token: 'app-token', expiresOn: new Date('2030-01-01T00:00:00Z') } as never
      },
      invalidate: (req) => {
        calls.push({ what: 'invalidate', args: [req] })
      },
      ...init.tokens,
    },
    // Only tenantId and orgUrl of a discovered tenant are read by the routes.
    discovery: {
      discover: (init.discover ??
        (async (url) => ({
          tenantId: TID.toUpperCase(),
          orgUrl: url,
        }))) as OnboardingRouterOptions['discovery']['discover'],
    },
    states,
    clients,
    clientId: APP_ID,
    publicUrl: 'https://app.example.com',
    roleName: 'Connector',
    isAdministrator: () => true,
    ...(init.silent
      ? { logger: {} }
      : {
          logger: {
            info: (message, fields) => logs.push({ level: 'info', message, ...(fields ? { fields } : {}) }),
            warn: (message, fields) => logs.push({ level: 'warn', message, ...(fields ? { fields } : {}) }),
          },
        }),
    ...init.options,
  }
  const app = onboardingRouter(options)
  const call = (
    path: string,
    init2: { body?: unknown; raw?: string; cookie?: string; as?: string; method?: string } = {},
  ) =>
    app.request(`/api/onboarding${path}`, {
      method: init2.method ?? (init2.body === undefined && init2.raw === undefined ? 'GET' : 'POST'),
      headers: {
        Authorization: `Bearer ${init2.as ?? `${OID}~${TID}`}`,
        ...(init2.body === undefined ? {} : { 'Content-Type': 'application/json' }),
        ...(init2.cookie ? { Cookie: init2.cookie } : {}),
      },
      ...(init2.body === undefined
        ? init2.raw === undefined
          ? {}
          : { body: init2.raw }
        : { body: JSON.stringify(init2.body) }),
    })
  const flowOf = (over: Record<string, unknown> = {}) =>
    JSON.stringify({ k: 'ticket', tid: TID, oid: OID, org: ORG, intent: 'connect', ...over })
  const ticket = (over: Record<string, unknown> = {}) => states.create(SESSION_ID, flowOf(over))
  const complete = (body: unknown) => call('/complete', { body, cookie: `${COOKIE}=${SESSION_ID}` })
  return { app, call, calls, logs, states, tenants, ticket, flowOf, complete, options }
}

const error = async (res: Response) =>
  ((await res.json()) as { error: { code: string; message: string } }).error

describe('onboardingRouter: its options', () => {
  it.each([
    'registry',
    'verifier',
    'tokens',
    'discovery',
    'states',
    'clients',
    'clientId',
    'publicUrl',
    'roleName',
  ] as const)('refuses options without %s (INVALID_OPTIONS naming it)', (key) => {
    const { options } = setup()
    expect(() => onboardingRouter({ ...options, [key]: undefined })).toThrow(
      expect.objectContaining({
        name: 'HonoS2SError',
        code: 'INVALID_OPTIONS',
        message: `onboardingRouter needs ${key}`,
      }),
    )
  })

  it('builds with every required option, and checks signed-in users with the given verifier', async () => {
    const seen: string[] = []
    const { options } = setup()
    const app = onboardingRouter({
      ...options,
      verifier: {
        verify: async (token: string) => {
          seen.push(token)
          throw new VerificationError('INVALID_SIGNATURE', 'refused')
        },
      } as unknown as UserTokenVerifier,
    })
    const res = await app.request('/api/onboarding/tenant', {
      headers: { Authorization: 'Bearer abc.def.ghi' },
    })
    expect(res.status).toBe(401)
    expect(seen).toEqual(['abc.def.ghi'])
  })
})

describe('POST /start: what the admin sends', () => {
  it('refuses a request without a JSON body (415 json_required)', async () => {
    const { call } = setup()
    const res = await call('/start', { raw: 'orgUrl=x' })
    expect(res.status).toBe(415)
    expect(await error(res)).toEqual({
      code: 'json_required',
      message: 'Send JSON: { "orgUrl": "https://…" }.',
    })
  })

  it.each([
    [{}],
    [{ orgUrl: 5 }],
    [{ orgUrl: '' }],
    [{ orgUrl: '   ' }],
    [{ orgUrl: `https://${'a'.repeat(293)}` }],
  ])(
    'refuses a missing, non-string, blank or over-300-character org URL %j (400 org_url_required), before any discovery',
    async (body) => {
      const seen: string[] = []
      const { call } = setup({
        discover: async (url) => {
          seen.push(url)
          return { tenantId: TID, orgUrl: url }
        },
      })
      const res = await call('/start', { body })
      expect(res.status).toBe(400)
      expect(await error(res)).toEqual({
        code: 'org_url_required',
        message: 'Enter your Dataverse org URL, e.g. https://contoso.crm.dynamics.com.',
      })
      expect(seen).toEqual([])
    },
  )

  it('discovers the trimmed org URL, and accepts one of exactly 300 characters', async () => {
    const seen: string[] = []
    const { call } = setup({
      discover: async (url) => {
        seen.push(url)
        return { tenantId: TID, orgUrl: ORG }
      },
    })
    expect((await call('/start', { body: { orgUrl: `  ${ORG}  ` } })).status).toBe(200)
    const long = `https://${'a'.repeat(292)}`
    expect(long).toHaveLength(300)
    expect((await call('/start', { body: { orgUrl: long } })).status).toBe(200)
    expect(seen).toEqual([ORG, long])
  })

  it('refuses an unknown intent (400 invalid_intent listing the intents)', async () => {
    const { call } = setup()
    const res = await call('/start', { body: { orgUrl: ORG, intent: 'delete' } })
    expect(res.status).toBe(400)
    expect(await error(res)).toEqual({
      code: 'invalid_intent',
      message: 'intent must be one of connect, reconnect, change_org.',
    })
  })

  it('answers a failed discovery with 400 org_not_found carrying the core message, and logs only its code', async () => {
    const { call, logs } = setup({
      discover: async () => {
        throw new DiscoveryError('DISCOVERY_FAILED', 'No org answers at that URL.')
      },
    })
    const res = await call('/start', { body: { orgUrl: ORG } })
    expect(res.status).toBe(400)
    expect(await error(res)).toEqual({
      code: 'org_not_found',
      message: 'No org answers at that URL. Check the URL (copy it from your Dynamics 365 app).',
    })
    expect(logs).toEqual([
      { level: 'warn', message: 'onboarding: discovery failed', fields: { code: 'DISCOVERY_FAILED' } },
    ])
  })

  it('answers a discovery failing with a foreign error with a generic message and the code "unknown"', async () => {
    const { call, logs } = setup({
      discover: async () => {
        throw new Error('socket hang up with secret details')
      },
    })
    const res = await call('/start', { body: { orgUrl: ORG } })
    expect(res.status).toBe(400)
    expect(await error(res)).toEqual({
      code: 'org_not_found',
      message: 'The org could not be reached. Check the URL (copy it from your Dynamics 365 app).',
    })
    expect(logs).toEqual([
      { level: 'warn', message: 'onboarding: discovery failed', fields: { code: 'unknown' } },
    ])
  })

  it('refuses an org of another tenant (403 org_in_other_tenant)', async () => {
    const { call } = setup({ discover: async (url) => ({ tenantId: OTHER_TID, orgUrl: url }) })
    const res = await call('/start', { body: { orgUrl: ORG } })
    expect(res.status).toBe(403)
    expect(await error(res)).toEqual({
      code: 'org_in_other_tenant',
      message:
        'This org belongs to another tenant than yours: sign in as an administrator of the org’s tenant.',
    })
  })

  it('refuses an intent that does not fit the tenant (409 with the intent problem)', async () => {
    const { call } = setup({ tenant: record() })
    const res = await call('/start', { body: { orgUrl: ORG, intent: 'reconnect', confirm: true } })
    expect(res.status).toBe(409)
    expect((await error(res)).code).toBe('not_offboarded')
  })
})

describe('POST /start: the session cookie, the consent URL and the log', () => {
  it('sets a new HttpOnly, Secure, SameSite=Lax session cookie for an hour when the browser has none', async () => {
    const { call } = setup()
    const res = await call('/start', { body: { orgUrl: ORG } })
    expect(res.status).toBe(200)
    const cookie = res.headers.get('set-cookie') ?? ''
    expect(cookie).toMatch(
      new RegExp(`^${COOKIE}=[A-Za-z0-9_-]{43}; Max-Age=3600; Path=/; HttpOnly; Secure; SameSite=Lax$`),
    )
  })

  it('keeps a valid session cookie, and replaces a malformed one', async () => {
    const { call } = setup()
    const kept = await call('/start', { body: { orgUrl: ORG }, cookie: `${COOKIE}=${SESSION_ID}` })
    expect(kept.status).toBe(200)
    expect(kept.headers.get('set-cookie')).toBeNull()
    const replaced = await call('/start', { body: { orgUrl: ORG }, cookie: `${COOKIE}=short` })
    expect(replaced.status).toBe(200)
    expect(replaced.headers.get('set-cookie')).toMatch(new RegExp(`^${COOKIE}=[A-Za-z0-9_-]{43};`))
  })

  it('builds the consent URL on the configured cloud, for the tenant and org, and logs the tenant and intent', async () => {
    const cloud = defineCloud({
      name: 'sovereign',
      authorityHost: 'https://login.example.net',
      dataverseHosts: ['crm.example.net'],
    })
    const { call, logs } = setup({ options: { cloud } })
    const res = await call('/start', { body: { orgUrl: ORG } })
    const body = (await res.json()) as {
      consentUrl: string
      tenantId: string
      orgUrl: string
      intent: string
    }
    expect(new URL(body.consentUrl).origin).toBe('https://login.example.net')
    expect(new URL(body.consentUrl).pathname).toBe(`/${TID}/v2.0/adminconsent`)
    expect(body).toMatchObject({ tenantId: TID, orgUrl: ORG, intent: 'connect' })
    expect(logs).toEqual([
      { level: 'info', message: 'onboarding: consent started', fields: { tenantId: TID, intent: 'connect' } },
    ])
    const plain = await setup().call('/start', { body: { orgUrl: ORG } })
    expect(new URL(((await plain.json()) as { consentUrl: string }).consentUrl).origin).toBe(
      'https://login.microsoftonline.com',
    )
  })
})

describe('POST /start: a logger without info or warn', () => {
  it('still answers a failed discovery and a started consent', async () => {
    const failing = setup({
      silent: true,
      discover: async () => {
        throw new Error('down')
      },
    })
    expect((await failing.call('/start', { body: { orgUrl: ORG } })).status).toBe(400)
    expect((await setup({ silent: true }).call('/start', { body: { orgUrl: ORG } })).status).toBe(200)
  })
})

describe('GET callback: the admin-consent redirect', () => {
  const callback = (s: ReturnType<typeof setup>, state: string, cookie = true) =>
    s.app.request(
      `/onboarding/callback?admin_consent=True&tenant=${TID}&state=${encodeURIComponent(state)}`,
      cookie ? { headers: { Cookie: `${COOKIE}=${SESSION_ID}` } } : {},
    )
  const query = (res: Response) =>
    new URLSearchParams((res.headers.get('location') ?? '').split('?')[1] ?? '')

  it('refuses a signed state that does not carry an onboarding flow (INVALID_STATE), logging the code', async () => {
    const s = setup()
    const res = await callback(s, s.states.create(SESSION_ID, 'not a flow'))
    expect(res.status).toBe(303)
    expect(Object.fromEntries(query(res))).toEqual({
      error: 'INVALID_STATE',
      message: 'The consent state was not issued for onboarding: start again.',
    })
    expect(s.logs).toEqual([
      { level: 'warn', message: 'onboarding: consent callback refused', fields: { code: 'INVALID_STATE' } },
    ])
  })

  it('refuses a state presented by a browser without the session cookie (STATE_SESSION_MISMATCH)', async () => {
    const s = setup()
    const res = await callback(s, s.states.create(SESSION_ID, s.flowOf({ k: 'state' })), false)
    expect(res.status).toBe(303)
    expect(query(res).get('error')).toBe('STATE_SESSION_MISMATCH')
    expect(s.logs.map((l) => l.fields?.code)).toEqual(['STATE_SESSION_MISMATCH'])
  })

  it('does not turn a foreign error of the state check into a redirect: it propagates (500)', async () => {
    const s = setup({
      states: {
        verify: async () => {
          throw new Error('store down')
        },
      },
    })
    const res = await callback(s, 'whatever')
    expect(res.status).toBe(500)
  })

  it('needs no warn function on the logger', async () => {
    const s = setup({ silent: true })
    const res = await callback(s, s.states.create(SESSION_ID, 'not a flow'))
    expect(query(res).get('error')).toBe('INVALID_STATE')
  })

  it('answers HEAD (a link prefetcher) with 405 Allow: GET, without checking or using up the state', async () => {
    let verified = 0
    const s = setup({
      states: {
        verify: async () => {
          verified++
          throw new Error('HEAD must not check the state')
        },
      },
    })
    const res = await s.app.request(`/onboarding/callback?admin_consent=True&tenant=${TID}&state=x`, {
      method: 'HEAD',
      headers: { Cookie: `${COOKIE}=${SESSION_ID}` },
    })
    expect(res.status).toBe(405)
    expect(res.headers.get('allow')).toBe('GET')
    expect(res.headers.get('cache-control')).toBe('no-store')
    expect(res.headers.get('location')).toBeNull()
    expect(verified).toBe(0)
    expect(s.logs).toEqual([])
  })
})

describe('bodies that are not valid UTF-8', () => {
  it('are refused with 400 invalid_body on every route that reads a body, and nothing is called', async () => {
    for (const route of ['/start', '/complete', '/provision', '/offboard']) {
      const s = setup({ tenant: record() })
      const res = await s.app.request(`/api/onboarding${route}`, {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${OID}~${TID}`,
          'Content-Type': 'application/json',
          Cookie: `${COOKIE}=${SESSION_ID}`,
        },
        body: new Uint8Array([
          ...new TextEncoder().encode(`{"orgUrl":"${ORG}","ticket":"`),
          0xc3,
          0x28,
          0x22,
          0x7d,
        ]),
      })
      expect(res.status, route).toBe(400)
      expect((await error(res)).code, route).toBe('invalid_body')
      expect(s.calls, route).toEqual([])
    }
  })
})

describe('POST /complete', () => {
  it('refuses a request without a ticket as the state check does, without crashing', async () => {
    const s = setup()
    const none = await s.call('/complete', { raw: 'x', cookie: `${COOKIE}=${SESSION_ID}` })
    const numeric = await s.complete({ ticket: 5 })
    const expected = {
      code: 'invalid_state',
      message: 'The consent state is missing or malformed: start the consent again',
    }
    for (const res of [none, numeric]) {
      expect(res.status).toBe(400)
      expect(await error(res)).toEqual(expected)
    }
  })

  it('refuses the ticket of another admin or tenant (403 consent_of_another_admin)', async () => {
    for (const over of [{ oid: OTHER_OID }, { tid: OTHER_TID }]) {
      const s = setup()
      const res = await s.complete({ ticket: s.ticket(over) })
      expect(res.status).toBe(403)
      expect((await error(res)).code).toBe('consent_of_another_admin')
      expect(s.calls.filter((c) => c.what === 'getToken')).toEqual([])
    }
  })

  it('refuses an intent that no longer fits the tenant (409) before asking for a token', async () => {
    const s = setup({ tenant: record() })
    const res = await s.complete({ ticket: s.ticket({ intent: 'reconnect' }) })
    expect(res.status).toBe(409)
    expect(await error(res)).toEqual({
      code: 'not_offboarded',
      message: 'Only an offboarded organization can be reconnected.',
    })
    expect(s.calls.filter((c) => c.what === 'getToken')).toEqual([])
  })

  it.each([
    [new TokenError('CONSENT_REQUIRED', 'no consent'), 'CONSENT_REQUIRED'],
    [new Error('network'), 'unknown'],
  ])(
    'answers 409 consent_not_effective when no app-only token comes (%s), logging only the code',
    async (thrown, logged) => {
      const s = setup({
        tokens: {
          getToken: async () => {
            throw thrown
          },
        },
      })
      const res = await s.complete({ ticket: s.ticket() })
      expect(res.status).toBe(409)
      expect(await error(res)).toEqual({
        code: 'consent_not_effective',
        message:
          'The app still cannot get a token in your tenant: give the admin consent again (it can take a minute to apply).',
      })
      expect(s.logs).toEqual([
        { level: 'warn', message: 'onboarding: no app-only token after consent', fields: { code: logged } },
      ])
      expect(s.calls.filter((c) => c.what === 'connect')).toEqual([])
    },
  )

  it('answers 409 tenant_changed when the registry change lost a race', async () => {
    const s = setup({
      tenant: record({ status: 'offboarded' }),
      registry: { reconnect: async () => undefined },
    })
    const res = await s.complete({ ticket: s.ticket({ intent: 'reconnect' }) })
    expect(res.status).toBe(409)
    expect(await error(res)).toEqual({
      code: 'tenant_changed',
      message: 'Your organization’s connection changed meanwhile: reload and try again.',
    })
  })

  it('connects, logs the tenant and intent, and drops nothing when the org did not change', async () => {
    const s = setup()
    const res = await s.complete({ ticket: s.ticket() })
    expect(res.status).toBe(200)
    expect(((await res.json()) as { tenant: { status: string } }).tenant.status).toBe('consented')
    expect(s.logs).toEqual([
      {
        level: 'info',
        message: 'onboarding: consent completed',
        fields: { tenantId: TID, intent: 'connect' },
      },
    ])
    expect(s.calls.filter((c) => c.what === 'clients.delete')).toEqual([])
    expect(s.calls.filter((c) => c.what === 'invalidate')).toEqual([
      { what: 'invalidate', args: [{ tenantId: TID, resource: ORG }] },
    ])
  })

  it('a changed org drops the client and the cached token of the old org only', async () => {
    const s = setup({ tenant: record() })
    const res = await s.complete({ ticket: s.ticket({ intent: 'change_org', org: ORG2 }) })
    expect(res.status).toBe(200)
    expect(s.calls.filter((c) => c.what === 'clients.delete')).toEqual([
      { what: 'clients.delete', args: [TID, ORG] },
    ])
    expect(s.calls.filter((c) => c.what === 'invalidate')).toEqual([
      { what: 'invalidate', args: [{ tenantId: TID, resource: ORG2 }] },
      { what: 'invalidate', args: [{ tenantId: TID, resource: ORG }] },
    ])
  })

  it('needs no info or warn function on the logger', async () => {
    const s = setup({ silent: true })
    expect((await s.complete({ ticket: s.ticket() })).status).toBe(200)
    const failing = setup({
      silent: true,
      tokens: {
        getToken: async () => {
          throw new Error('x')
        },
      },
    })
    expect((await failing.complete({ ticket: failing.ticket() })).status).toBe(409)
  })
})

describe('GET /tenant and /events', () => {
  const notOnboarded = {
    code: 'not_onboarded',
    message: 'Your organization is not connected yet: connect it first.',
  }

  it.each(['/tenant', '/events'])(
    'GET %s answers 404 not_onboarded for a tenant the registry does not know',
    async (path) => {
      const s = setup()
      const res = await s.call(path)
      expect(res.status).toBe(404)
      expect(await error(res)).toEqual(notOnboarded)
      expect(s.calls).toEqual([])
    },
  )

  it('GET /tenant reports the app-only token of a connected tenant', async () => {
    const s = setup({ tenant: record() })
    const body = (await (await s.call('/tenant')).json()) as { token: unknown }
    expect(body.token).toEqual({ ok: true, expiresOn: '2030-01-01T00:00:00.000Z' })
  })

  it('GET /tenant reports a failing token with its message, or "No token" for a non-Error', async () => {
    for (const [thrown, message] of [
      [new Error('AADSTS7000215'), 'AADSTS7000215'],
      ['a string', 'No token'],
    ] as const) {
      const s = setup({
        tenant: record(),
        tokens: {
          getToken: async () => {
            throw thrown
          },
        },
      })
      const res = await s.call('/tenant')
      expect(res.status).toBe(200)
      expect(((await res.json()) as { token: unknown }).token).toEqual({ ok: false, message })
    }
  })

  it('GET /tenant shows an offboarded tenant without asking for a token', async () => {
    const s = setup({ tenant: record({ status: 'offboarded' }) })
    const res = await s.call('/tenant')
    expect(res.status).toBe(200)
    const body = (await res.json()) as { token: unknown; tenant: { status: string } }
    expect(body.token).toBeNull()
    expect(body.tenant.status).toBe('offboarded')
    expect(s.calls).toEqual([])
  })

  it('GET /events lists the events of the tenant, offboarded or not', async () => {
    const s = setup({ tenant: record({ status: 'offboarded' }) })
    const res = await s.call('/events')
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({
      events: [
        {
          at: '2026-01-02T00:00:00.000Z',
          action: 'connected',
          fromStatus: null,
          toStatus: 'consented',
          by: { objectId: OID, name: 'Ada' },
          detail: ORG,
        },
      ],
    })
  })
})

describe('POST /provision', () => {
  const useOrg = (t: TenantRecord) => ({ ...t, orgUrl })
  const required = {
    code: 'dataverse_token_required',
    message: 'Sign in to your org first: the set-up needs your own token for the org.',
  }

  it('answers 404 for an unknown tenant and 409 tenant_offboarded for an offboarded one', async () => {
    const unknown = await setup().call('/provision', { body: { dataverseToken: JWT } })
    expect(unknown.status).toBe(404)
    const off = await setup({ tenant: record({ status: 'offboarded' }) }).call('/provision', {
      body: { dataverseToken: JWT },
    })
    expect(off.status).toBe(409)
    expect(await error(off)).toEqual({
      code: 'tenant_offboarded',
      message: 'Your organization was offboarded: reconnect it first.',
    })
  })

  it.each([
    ['no JSON body', undefined],
    ['no token', {}],
    ['a numeric token', { dataverseToken: 5 }],
    ['a token of two parts', { dataverseToken: 'abc.def' }],
    ['a token with a leading junk character', { dataverseToken: `!${JWT}` }],
    ['a token with a trailing junk character', { dataverseToken: `${JWT}!` }],
  ])('refuses %s (400 dataverse_token_required) without calling the org', async (_, body) => {
    orgRequests.length = 0
    const s = setup({ tenant: useOrg(record()) })
    const res = await s.call('/provision', body === undefined ? { raw: 'x' } : { body })
    expect(res.status).toBe(400)
    expect(await error(res)).toEqual(required)
    expect(orgRequests).toEqual([])
  })

  it('calls the org once with the admin token and the default user agent, without retrying a 503', async () => {
    orgRequests.length = 0
    orgMode = 'unavailable'
    try {
      const s = setup({ tenant: useOrg(record()) })
      const res = await s.call('/provision', { body: { dataverseToken: JWT } })
      expect(res.status).toBe(409)
      expect((await error(res)).code).toBe('org_unreachable')
      expect(orgRequests).toHaveLength(1)
      expect(orgRequests[0]?.authorization).toBe(`Bearer ${JWT}`)
      expect(orgRequests[0]?.userAgent).toBe('dataverse-s2s-webapi')
    } finally {
      orgMode = 'ok'
    }
  })

  it('sends the configured user agent', async () => {
    orgRequests.length = 0
    const s = setup({ tenant: useOrg(record()), options: { client: { userAgent: 'my-app/1.0' } } })
    await s.call('/provision', { body: { dataverseToken: JWT } })
    expect(orgRequests.length).toBeGreaterThan(0)
    const admins = orgRequests.filter((r) => r.authorization === `Bearer ${JWT}`)
    expect(admins.length).toBeGreaterThan(0)
    expect(new Set(admins.map((r) => r.userAgent))).toEqual(new Set(['my-app/1.0']))
  })

  it('answers 409 tenant_changed when the tenant changed while provisioning', async () => {
    const s = setup({ tenant: useOrg(record()), registry: { markProvisioned: async () => undefined } })
    const res = await s.call('/provision', { body: { dataverseToken: JWT } })
    expect(res.status).toBe(409)
    expect(await error(res)).toEqual({
      code: 'tenant_changed',
      message: 'Your organization’s connection changed meanwhile: reload and try again.',
    })
    expect(s.calls).toEqual([])
  })

  it('then checks the connection and logs the tenant and the check code', async () => {
    const s = setup({ tenant: useOrg(record()) })
    const res = await s.call('/provision', { body: { dataverseToken: JWT } })
    expect(res.status).toBe(200)
    expect(((await res.json()) as { ok: boolean; code: string }).code).toBe('ok')
    expect(s.logs).toEqual([
      { level: 'info', message: 'onboarding: connection checked', fields: { tenantId: TID, code: 'ok' } },
    ])
    expect(
      (await setup({ tenant: useOrg(record()), silent: true }).call('/verify', { method: 'POST' })).status,
    ).toBe(200)
  })
})

describe('POST /offboard', () => {
  it('answers 409 tenant_changed when the tenant changed meanwhile, and drops nothing', async () => {
    const s = setup({ tenant: record(), registry: { offboard: async () => undefined } })
    const res = await s.call('/offboard', { body: { confirm: true } })
    expect(res.status).toBe(409)
    expect(await error(res)).toEqual({
      code: 'tenant_changed',
      message: 'Your organization’s connection changed meanwhile: reload and try again.',
    })
    expect(s.calls.filter((c) => c.what !== 'offboard')).toEqual([])
  })
})
