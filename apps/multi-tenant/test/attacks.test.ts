import { createPublicKey, generateKeyPairSync } from 'node:crypto'
import { createServer } from 'node:net'
import { exportJWK, SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  apiAudience,
  appId,
  completeOnboarding,
  consentCallback,
  ids,
  onboard,
  request,
  startOnboarding,
  startTestApp,
} from './helpers.ts'

/**
 * The attack suite of issue #11: every row is one attack on the running sample (emulator, in-memory registry).
 * Each asserts the refusal (status and error code), that no answer opens CORS, and through {@link expectNoEffect}
 * that nothing reached Dataverse (the emulator's request counters) or the token endpoint, and that no tenant record
 * or event changed in the registry. Adding an attack is one row of `attacks`.
 */

type T = Awaited<ReturnType<typeof startTestApp>>
let t: T

/** Everything the attacks need that only exists once the app runs (tokens, cookies, states, ids). */
const p = {
  fabrikamOrgUrl: '',
  fabrikamOrgId: '',
  contosoOrgUrl: '',
  sandboxUrl: '',
  northwindOrgUrl: '',
  contosoAccountId: '',
  contosoCursor: '',
  daveCursor: '',
  carol: '',
  dave: '',
  nestor: '',
  alice: '',
  megan: '',
  /** The completed onboarding of Fabrikam by Nestor: its (used) state, ticket and browser cookie. */
  used: { state: '', ticket: '', cookie: '' },
  /** Fresh states Nestor started (one per callback attack), all with `nestorCookie`. */
  nestorStates: [] as string[],
  nestorCookie: '',
  /** A fresh ticket Nestor got from a genuine callback, with `nestorCookie`. */
  nestorTicket: '',
  /** A fresh ticket Megan (Contoso's admin) got, with her cookie. */
  meganTicket: '',
  meganCookie: '',
  /** Fresh states Megan started with `meganCookie`. */
  meganStates: [] as string[],
  /** An attacker's own browser session (a cookie the app issued to another start). */
  attackerCookie: '',
  northwind: { tenantId: '', admin: '', user: '', helpdesk: '', usedState: '', usedCookie: '' },
}

const now = () => Math.floor(Date.now() / 1000)
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
const attacker = generateKeyPairSync('rsa', { modulusLength: 2048 })
const attackerEc = generateKeyPairSync('ec', { namedCurve: 'P-256' })

/** Claims of a good v2 access token for the app's API, for a user of `tenantId`. */
function claims(tenantId: string, oid: string, overrides: Record<string, unknown> = {}) {
  const n = now()
  return {
    aud: appId,
    iss: `${t.emulator.url}/${tenantId}/v2.0`,
    iat: n,
    nbf: n,
    exp: n + 3600,
    azp: appId,
    azpacr: '0',
    name: 'Forged',
    oid,
    scp: 'access_as_user',
    sub: oid,
    tid: tenantId,
    ver: '2.0',
    ...overrides,
  }
}
const carolClaims = (o: Record<string, unknown> = {}) =>
  claims(ids.fabrikamTenantId, ids.users.fabrikamCarol, o)
/** Claims signed with the emulator's real signing key: a valid signature over whatever the attack needs. */
const emulatorSigned = (c: Record<string, unknown>) => t.emulator.world.signingKeys.signJwt(c)
const attackerSigned = (c: Record<string, unknown>, header: Record<string, unknown>) =>
  new SignJWT(c).setProtectedHeader({ alg: 'RS256', ...header }).sign(attacker.privateKey)

type Init = { token?: string; body?: unknown; cookie?: string; method?: string }
const get = (path: string, token?: string) => request(t, path, token ? { token } : {})
const raw = (path: string, init: RequestInit = {}) => Promise.resolve(t.running.app.request(path, init))
const asCarol = (path: string, init: Omit<Init, 'token'> = {}) =>
  request(t, path, { token: p.carol, ...init })
const withHeaders = (path: string, token: string, headers: Record<string, string>, init: RequestInit = {}) =>
  raw(path, { ...init, headers: { Authorization: `Bearer ${token}`, ...headers } })
const start = async (token: string, body: unknown, cookie?: string) =>
  request(t, '/api/onboarding/start', { token, body, ...(cookie ? { cookie } : {}) })
const callback = (query: string, cookie?: string) =>
  raw(`/onboarding/callback?${query}`, cookie ? { headers: { Cookie: cookie } } : {})
const consent = (tenant: string, state: string) =>
  `admin_consent=True&tenant=${tenant}&state=${encodeURIComponent(state)}`

/** One attack: what it sends, and the refusal it must get. */
interface Attack {
  name: string
  send: () => Promise<Response>
  status: number
  /** `error.code` of the JSON answer, or the `error` of the SPA page a refused consent callback redirects to. */
  code: string | null
  /** For an attack the app serves harmlessly (`code: null`): what the answer must be. */
  served?: (res: Response) => Promise<void>
  /**
   * The attacker's own org, when the attack rides on a request the app serves from the attacker's own tenant (the
   * hint is ignored, not refused): that org may answer; every other org, the token endpoint and the registry may not.
   */
  ownOrg?: () => string
  /**
   * The attack is made by a genuine admin who names an org: the app may send the org one request without a token
   * (tenant discovery reads the tenant from the 401 challenge). No authenticated request may reach any org.
   */
  discoveryProbe?: true
}

type Category =
  | 'algorithm and signature'
  | 'claims with a valid signature'
  | 'foreign genuine tokens'
  | 'transport'
  | 'cross-tenant selection'
  | 'impersonation'
  | 'OData injection and prototype keys'
  | 'CORS'
  | 'onboarding'

const guid = '11111111-2222-4333-8444-555555555555'
const evil = 'https://evil.example'

const attacks: Record<Category, Attack[]> = {
  'algorithm and signature': [
    {
      name: 'alg none',
      send: () => get('/api/tables/accounts', `${b64({ alg: 'none', typ: 'JWT' })}.${b64(carolClaims())}.`),
      status: 401,
      code: 'invalid_token',
    },
    {
      name: 'alg "None" with the real kid',
      send: () =>
        get(
          '/api/tables/accounts',
          `${b64({ alg: 'None', kid: t.emulator.world.signingKeys.currentKid })}.${b64(carolClaims())}.`,
        ),
      status: 401,
      code: 'invalid_token',
    },
    {
      name: 'HS256 signed with the emulator’s public key as the secret',
      send: async () => {
        const x5c = t.emulator.world.signingKeys.jwks().keys[0]?.x5c?.[0] ?? ''
        const pem = createPublicKey(`-----BEGIN CERTIFICATE-----\n${x5c}\n-----END CERTIFICATE-----`).export({
          type: 'spki',
          format: 'pem',
        })
        const token = await new SignJWT(carolClaims())
          .setProtectedHeader({ alg: 'HS256', kid: t.emulator.world.signingKeys.currentKid })
          .sign(Buffer.from(pem as string))
        return get('/api/tables/accounts', token)
      },
      status: 401,
      code: 'invalid_token',
    },
    {
      name: 'signed with another key under the real kid',
      send: async () =>
        get(
          '/api/tables/accounts',
          await attackerSigned(carolClaims(), { kid: t.emulator.world.signingKeys.currentKid }),
        ),
      status: 401,
      code: 'invalid_token',
    },
    {
      name: 'ES256 with another key under the real kid',
      send: async () =>
        get(
          '/api/tables/accounts',
          await new SignJWT(carolClaims())
            .setProtectedHeader({ alg: 'ES256', kid: t.emulator.world.signingKeys.currentKid })
            .sign(attackerEc.privateKey),
        ),
      status: 401,
      code: 'invalid_token',
    },
    {
      name: 'unknown kid',
      send: async () =>
        get('/api/tables/accounts', await attackerSigned(carolClaims(), { kid: 'attacker-kid' })),
      status: 401,
      code: 'invalid_token',
    },
    {
      name: 'no kid at all',
      send: async () => get('/api/tables/accounts', await attackerSigned(carolClaims(), {})),
      status: 401,
      code: 'invalid_token',
    },
    {
      name: 'genuine token with the signature stripped',
      send: () => get('/api/tables/accounts', `${p.carol.split('.').slice(0, 2).join('.')}.`),
      status: 401,
      code: 'invalid_token',
    },
    {
      name: 'genuine header and signature over a tampered payload (tid of Contoso)',
      send: () => {
        const [h, , s] = p.carol.split('.')
        const payload = b64({
          ...JSON.parse(Buffer.from(p.carol.split('.')[1] ?? '', 'base64url').toString()),
          tid: ids.contosoTenantId,
          iss: `${t.emulator.url}/${ids.contosoTenantId}/v2.0`,
        })
        return get('/api/tables/accounts', `${h}.${payload}.${s}`)
      },
      status: 401,
      code: 'invalid_token',
    },
    {
      name: 'key of another issuer named by jku',
      send: async () =>
        get(
          '/api/tables/accounts',
          await attackerSigned(carolClaims(), { kid: 'attacker', jku: `${evil}/.well-known/jwks.json` }),
        ),
      status: 401,
      code: 'invalid_token',
    },
    {
      name: 'key of another issuer named by x5u',
      send: async () =>
        get(
          '/api/tables/accounts',
          await attackerSigned(carolClaims(), { kid: 'attacker', x5u: `${evil}/cert.pem` }),
        ),
      status: 401,
      code: 'invalid_token',
    },
    {
      name: 'key of another issuer embedded as jwk (under the real kid)',
      send: async () =>
        get(
          '/api/tables/accounts',
          await attackerSigned(carolClaims(), {
            kid: t.emulator.world.signingKeys.currentKid,
            jwk: await exportJWK(attacker.publicKey),
          }),
        ),
      status: 401,
      code: 'invalid_token',
    },
  ],

  'claims with a valid signature': [
    {
      name: 'no exp',
      send: async () => get('/api/tables/accounts', await emulatorSigned(carolClaims({ exp: undefined }))),
      status: 401,
      code: 'invalid_token',
    },
    {
      name: 'iat ten years in the future',
      send: async () =>
        get(
          '/api/tables/accounts',
          await emulatorSigned(carolClaims({ iat: now() + 315_360_000, exp: now() + 315_363_600 })),
        ),
      status: 401,
      code: 'invalid_token',
    },
    {
      name: 'nbf an hour in the future',
      send: async () => get('/api/tables/accounts', await emulatorSigned(carolClaims({ nbf: now() + 3600 }))),
      status: 401,
      code: 'invalid_token',
    },
    {
      name: 'expired an hour ago',
      send: async () =>
        get(
          '/api/tables/accounts',
          await emulatorSigned(carolClaims({ iat: now() - 7200, nbf: now() - 7200, exp: now() - 3600 })),
        ),
      status: 401,
      code: 'token_expired',
    },
    {
      name: 'aud of another app',
      send: async () =>
        get('/api/tables/accounts', await emulatorSigned(carolClaims({ aud: ids.singleTenantAppId }))),
      status: 401,
      code: 'invalid_token',
    },
    {
      name: 'several audiences including ours, azp of another app',
      send: async () =>
        get(
          '/api/tables/accounts',
          await emulatorSigned(
            carolClaims({ aud: [appId, ids.singleTenantAppId], azp: ids.singleTenantAppId }),
          ),
        ),
      status: 401,
      code: 'invalid_token',
    },
    {
      name: 'iss of another tenant (Contoso’s issuer, Fabrikam’s tid)',
      send: async () =>
        get(
          '/api/tables/accounts',
          await emulatorSigned(carolClaims({ iss: `${t.emulator.url}/${ids.contosoTenantId}/v2.0` })),
        ),
      status: 401,
      code: 'invalid_token',
    },
    {
      name: 'tid of Contoso under Fabrikam’s issuer',
      send: async () =>
        get('/api/tables/accounts', await emulatorSigned(carolClaims({ tid: ids.contosoTenantId }))),
      status: 401,
      code: 'invalid_token',
    },
    {
      name: 'iss of another cloud',
      send: async () =>
        get(
          '/api/tables/accounts',
          await emulatorSigned(
            carolClaims({ iss: `https://login.microsoftonline.com/${ids.fabrikamTenantId}/v2.0` }),
          ),
        ),
      status: 401,
      code: 'invalid_token',
    },
    {
      name: 'tid that is not a GUID',
      send: async () =>
        get(
          '/api/tables/accounts',
          await emulatorSigned(carolClaims({ tid: 'fabrikam', iss: `${t.emulator.url}/fabrikam/v2.0` })),
        ),
      status: 401,
      code: 'invalid_token',
    },
    {
      name: 'v1.0 token for the API (the app accepts v2.0 only)',
      send: async () =>
        get(
          '/api/tables/accounts',
          await emulatorSigned(
            carolClaims({
              ver: '1.0',
              aud: apiAudience,
              iss: `${t.emulator.url}/${ids.fabrikamTenantId}/`,
              appid: appId,
              azp: undefined,
            }),
          ),
        ),
      status: 401,
      code: 'invalid_token',
    },
    {
      name: 'app-only token shape (idtyp app, roles, no scp)',
      send: async () =>
        get(
          '/api/tables/accounts',
          await emulatorSigned(carolClaims({ idtyp: 'app', scp: undefined, roles: ['Tenant.Admin'] })),
        ),
      status: 401,
      code: 'invalid_token',
    },
    {
      name: 'scp present but idtyp app',
      send: async () => get('/api/tables/accounts', await emulatorSigned(carolClaims({ idtyp: 'app' }))),
      status: 401,
      code: 'invalid_token',
    },
    {
      name: 'scope of another API only',
      send: async () => get('/api/tables/accounts', await emulatorSigned(carolClaims({ scp: 'User.Read' }))),
      status: 403,
      code: 'insufficient_scope',
    },
    {
      name: 'self-made wids (Global Administrator) on a forged admin token, signed by the attacker',
      send: async () =>
        start(
          await attackerSigned(carolClaims({ wids: [ids.directoryRoles.globalAdministrator] }), {
            kid: t.emulator.world.signingKeys.currentKid,
          }),
          { orgUrl: p.fabrikamOrgUrl },
        ),
      status: 401,
      code: 'invalid_token',
    },
  ],

  'foreign genuine tokens': [
    {
      name: 'ID token of the app (aud = client id, no scp)',
      send: async () =>
        get(
          '/api/tables/accounts',
          await t.emulator.world.mintIdToken({ userObjectId: ids.users.fabrikamCarol, appId }),
        ),
      status: 401,
      code: 'invalid_token',
    },
    {
      name: 'Dataverse token of the user for Fabrikam’s org',
      send: async () =>
        get(
          '/api/tables/accounts',
          await t.emulator.world.mintUserAccessToken({
            userObjectId: ids.users.fabrikamCarol,
            appId,
            resource: p.fabrikamOrgUrl,
          }),
        ),
      status: 401,
      code: 'invalid_token',
    },
    {
      name: 'Graph token (v1, aud Microsoft Graph, scp User.Read)',
      send: async () =>
        get(
          '/api/tables/accounts',
          await emulatorSigned(
            carolClaims({
              aud: '00000003-0000-0000-c000-000000000000',
              iss: `${t.emulator.url}/${ids.fabrikamTenantId}/`,
              ver: '1.0',
              scp: 'User.Read',
              appid: appId,
              azp: undefined,
            }),
          ),
        ),
      status: 401,
      code: 'invalid_token',
    },
    {
      name: 'token for another app’s API (Contoso Back Office)',
      send: async () =>
        get(
          '/api/tables/accounts',
          await t.emulator.world.mintUserAccessToken({
            userObjectId: ids.users.contosoAlice,
            appId: ids.singleTenantAppId,
            resource: ids.singleTenantAppId,
          }),
        ),
      status: 401,
      code: 'invalid_token',
    },
    {
      name: 'genuine app-only token for the API (client credentials in Contoso)',
      send: async () =>
        get(
          '/api/tables/accounts',
          await t.emulator.world.mintAppToken({
            tenantId: ids.contosoTenantId,
            appId,
            resource: apiAudience,
          }),
        ),
      status: 401,
      code: 'invalid_token',
    },
    {
      name: 'genuine app-only token on an onboarding change (verify)',
      send: async () =>
        request(t, '/api/onboarding/verify', {
          token: await t.emulator.world.mintAppToken({
            tenantId: ids.contosoTenantId,
            appId,
            resource: apiAudience,
          }),
          body: {},
        }),
      status: 401,
      code: 'invalid_token',
    },
    {
      name: 'genuine user token of a tenant that never onboarded (Litware)',
      send: async () => get('/api/tables/accounts', await t.userToken(ids.users.isvAdmin)),
      status: 403,
      code: 'tenant_not_onboarded',
    },
  ],

  transport: [
    {
      name: 'token in the query string',
      send: () => raw(`/api/tables/accounts?access_token=${p.carol}`),
      status: 401,
      code: 'missing_token',
    },
    {
      name: 'token in a cookie',
      send: () => raw('/api/tables/accounts', { headers: { Cookie: `access_token=${p.carol}` } }),
      status: 401,
      code: 'missing_token',
    },
    {
      name: 'token in the body',
      send: () =>
        raw('/api/tables/accounts', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ access_token: p.carol, name: 'x' }),
        }),
      status: 401,
      code: 'missing_token',
    },
    {
      name: 'two Authorization headers (a forged one first)',
      send: () => {
        const h = new Headers()
        h.append('Authorization', `Bearer ${b64({ alg: 'none' })}.${b64(carolClaims())}.`)
        h.append('Authorization', `Bearer ${p.carol}`)
        return raw('/api/tables/accounts', { headers: h })
      },
      status: 401,
      code: 'missing_token',
    },
    {
      name: 'two tokens in one header',
      send: () => raw('/api/tables/accounts', { headers: { Authorization: `Bearer ${p.carol} ${p.dave}` } }),
      status: 401,
      code: 'missing_token',
    },
    {
      name: 'lowercase bearer carrying an unsigned token',
      send: () =>
        raw('/api/tables/accounts', {
          headers: { Authorization: `bearer ${b64({ alg: 'none' })}.${b64(carolClaims())}.` },
        }),
      status: 401,
      code: 'invalid_token',
    },
    {
      name: 'Basic scheme',
      send: () => raw('/api/tables/accounts', { headers: { Authorization: 'Basic Y2Fyb2w6cGFzcw==' } }),
      status: 401,
      code: 'missing_token',
    },
    {
      name: 'huge Authorization header (1 MB token)',
      send: () => get('/api/tables/accounts', `${'a'.repeat(500_000)}.${'b'.repeat(500_000)}.c`),
      status: 401,
      code: 'invalid_token',
    },
    {
      name: 'create with a 1 MB body',
      send: () => asCarol('/api/tables/accounts', { body: { name: 'x', telephone1: 'y'.repeat(1_000_000) } }),
      status: 413,
      code: 'body_too_large',
    },
    {
      name: 'X-HTTP-Method-Override: DELETE on a POST to a record',
      send: () =>
        withHeaders(
          `/api/tables/accounts/${guid}`,
          p.carol,
          { 'X-HTTP-Method-Override': 'DELETE', 'Content-Type': 'application/json' },
          { method: 'POST', body: '{}' },
        ),
      status: 404,
      code: 'not_found',
    },
    // Variants of a data path without a token: each is refused by the verifier or matches no route at all.
    ...(
      [
        ['/api//tables/accounts', 404, 'not_found'],
        ['/api/tables/accounts/', 401, 'missing_token'],
        ['/api/tables/%61ccounts', 401, 'missing_token'],
        ['/api/./tables/accounts', 401, 'missing_token'],
      ] as const
    ).map(([path, status, code]) => ({
      name: `path variant ${path} without a token`,
      send: () => raw(path),
      status,
      code,
    })),
    {
      name: 'path variant /API/tables/accounts (upper case) with a token',
      send: () => withHeaders('/API/tables/accounts', p.carol, {}),
      // No route matches: the app's JSON 404, no data.
      status: 404,
      code: 'not_found',
    },
  ],

  'cross-tenant selection': [
    {
      name: 'tenant in the query',
      send: () => asCarol(`/api/tables/accounts?tenant=${ids.contosoTenantId}`),
      status: 400,
      code: 'unknown_parameter',
    },
    {
      name: 'org URL in the query',
      send: () => asCarol(`/api/tables/accounts?orgUrl=${encodeURIComponent(p.contosoOrgUrl)}`),
      status: 400,
      code: 'unknown_parameter',
    },
    {
      name: 'tenant in the query of a record route',
      send: () => asCarol(`/api/tables/accounts/${p.contosoAccountId}?tid=${ids.contosoTenantId}`),
      status: 400,
      code: 'unknown_parameter',
    },
    {
      name: 'org URL in a create body',
      send: () => asCarol('/api/tables/accounts', { body: { name: 'x', orgUrl: p.contosoOrgUrl } }),
      status: 400,
      code: 'invalid_body',
    },
    {
      name: 'tenant id in an update body',
      send: () =>
        withHeaders(
          `/api/tables/accounts/${p.contosoAccountId}`,
          p.carol,
          { 'Content-Type': 'application/json', 'If-Match': 'W/"1"' },
          { method: 'PATCH', body: JSON.stringify({ name: 'x', tenantId: ids.contosoTenantId }) },
        ),
      status: 400,
      code: 'invalid_body',
    },
    {
      name: 'lookup bound to a Contoso record (@odata.bind)',
      send: () =>
        asCarol('/api/tables/accounts', {
          body: { name: 'x', 'parentaccountid@odata.bind': `/accounts(${p.contosoAccountId})` },
        }),
      status: 400,
      code: 'invalid_body',
    },
    {
      name: 'Contoso’s record id in the path, with tenant and org headers',
      send: () =>
        withHeaders(`/api/tables/accounts/${p.contosoAccountId}`, p.carol, {
          'X-Tenant-Id': ids.contosoTenantId,
          'X-Ms-Tenant-Id': ids.contosoTenantId,
          'X-Org-Url': p.contosoOrgUrl,
          'X-Forwarded-Host': new URL(p.contosoOrgUrl).host,
        }),
      status: 404,
      code: 'not_found',
      ownOrg: () => p.fabrikamOrgId,
    },
    {
      name: 'delete of Contoso’s record id (If-Match)',
      send: () =>
        withHeaders(
          `/api/tables/accounts/${p.contosoAccountId}`,
          p.carol,
          { 'If-Match': 'W/"1"', 'X-Tenant-Id': ids.contosoTenantId },
          { method: 'DELETE' },
        ),
      status: 404,
      code: 'not_found',
      ownOrg: () => p.fabrikamOrgId,
    },
    {
      name: 'paging cursor issued in Contoso',
      send: () => asCarol(`/api/tables/accounts?pageSize=2&cursor=${encodeURIComponent(p.contosoCursor)}`),
      status: 400,
      code: 'invalid_cursor',
    },
    {
      name: 'onboarding start with another tenant’s org (Contoso’s admin, Fabrikam’s org)',
      send: () => start(p.megan, { orgUrl: p.fabrikamOrgUrl, intent: 'change_org', confirm: true }),
      status: 403,
      code: 'org_in_other_tenant',
    },
    {
      name: 'consent callback whose tenant differs from the admin’s tid',
      send: () => callback(consent(ids.contosoTenantId, p.nestorStates[0] ?? ''), p.nestorCookie),
      status: 303,
      code: 'TENANT_MISMATCH',
    },
  ],

  impersonation: [
    {
      name: 'X-Act-As naming the tenant admin',
      send: () => withHeaders('/api/me', p.carol, { 'X-Act-As': ids.users.fabrikamAdmin }),
      status: 400,
      code: 'invalid_act_as',
    },
    {
      name: 'X-Act-As naming the admin on a create',
      send: () =>
        withHeaders(
          '/api/tables/contacts',
          p.carol,
          { 'X-Act-As': ids.users.fabrikamAdmin, 'Content-Type': 'application/json' },
          { method: 'POST', body: JSON.stringify({ lastname: 'Spoofed' }) },
        ),
      status: 400,
      code: 'invalid_act_as',
    },
    {
      name: 'another user’s paging cursor (Dave’s, used by Carol)',
      send: () => asCarol(`/api/tables/accounts?pageSize=1&cursor=${encodeURIComponent(p.daveCursor)}`),
      status: 400,
      code: 'invalid_cursor',
    },
    {
      name: 'Carol’s genuine token with the admin’s oid (signature kept)',
      send: () => {
        const [h, body, s] = p.carol.split('.')
        const c = JSON.parse(Buffer.from(body ?? '', 'base64url').toString())
        return get('/api/onboarding/tenant', `${h}.${b64({ ...c, oid: ids.users.fabrikamAdmin })}.${s}`)
      },
      status: 401,
      code: 'invalid_token',
    },
    {
      name: 'Carol’s genuine token with wids added (signature kept)',
      send: () => {
        const [h, body, s] = p.carol.split('.')
        const c = JSON.parse(Buffer.from(body ?? '', 'base64url').toString())
        return request(t, '/api/onboarding/verify', {
          token: `${h}.${b64({ ...c, wids: [ids.directoryRoles.globalAdministrator] })}.${s}`,
          body: {},
        })
      },
      status: 401,
      code: 'invalid_token',
    },
    {
      name: 'admin’s ticket presented by a plain user with the admin’s cookie',
      send: () => completeOnboarding(t, ids.users.fabrikamCarol, p.nestorTicket, p.nestorCookie),
      status: 403,
      code: 'not_tenant_admin',
    },
  ],

  'OData injection and prototype keys': [
    {
      name: 'quote and or-clause as the record id',
      send: () => asCarol(`/api/tables/accounts/${encodeURIComponent("x' or '1' eq '1")}`),
      status: 404,
      code: 'not_found',
    },
    {
      name: '$filter smuggled in the record id',
      send: () => asCarol(`/api/tables/accounts/${guid}${encodeURIComponent(')?$filter=name ne null&x=(')}`),
      status: 404,
      code: 'not_found',
    },
    {
      name: '$filter as a query parameter',
      send: () =>
        asCarol(`/api/tables/accounts?${encodeURIComponent('$filter')}=${encodeURIComponent('1 eq 1')}`),
      status: 400,
      code: 'unknown_parameter',
    },
    {
      name: '$expand to system users',
      send: () => asCarol('/api/tables/accounts?$expand=owninguser'),
      status: 400,
      code: 'unknown_parameter',
    },
    {
      name: 'search given twice',
      send: () => asCarol('/api/tables/accounts?search=a&search=b'),
      status: 400,
      code: 'unknown_parameter',
    },
    {
      name: 'quote breaking out of the search literal',
      send: () => asCarol(`/api/tables/accounts?search=${encodeURIComponent("') or (1 eq 1")}`),
      // Served from Carol's own org: the text is one escaped literal, which no account name contains.
      status: 200,
      code: null,
      served: async (res) => expect(((await res.json()) as { rows: unknown[] }).rows).toEqual([]),
      ownOrg: () => p.fabrikamOrgId,
    },
    ...['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'].map((name) => ({
      name: `table "${name}"`,
      send: () => asCarol(`/api/tables/${name}`),
      status: 404,
      code: 'unknown_table',
    })),
    {
      name: 'record of table "__proto__"',
      send: () => asCarol(`/api/tables/__proto__/${guid}`),
      status: 404,
      code: 'not_found',
    },
    {
      name: 'create in table "constructor"',
      send: () => asCarol('/api/tables/constructor', { body: { name: 'x' } }),
      status: 404,
      code: 'unknown_table',
    },
    ...['constructor', '__proto__', 'toString'].map((key) => ({
      name: `body column "${key}"`,
      send: () =>
        raw('/api/tables/accounts', {
          method: 'POST',
          headers: { Authorization: `Bearer ${p.carol}`, 'Content-Type': 'application/json' },
          body: `{"name":"x","${key}":"y"}`,
        }),
      status: 400,
      code: 'invalid_body',
    })),
    {
      name: 'path traversal to systemusers',
      send: () => asCarol('/api/tables/..%2F..%2Fsystemusers'),
      status: 404,
      code: 'unknown_table',
    },
  ],

  CORS: [
    {
      name: 'preflight from a foreign origin (data API)',
      send: () =>
        raw('/api/tables/accounts', {
          method: 'OPTIONS',
          headers: {
            Origin: evil,
            'Access-Control-Request-Method': 'GET',
            'Access-Control-Request-Headers': 'authorization',
          },
        }),
      status: 401,
      code: 'missing_token',
    },
    {
      name: 'preflight from a foreign origin (onboarding start)',
      send: () =>
        raw('/api/onboarding/start', {
          method: 'OPTIONS',
          headers: {
            Origin: evil,
            'Access-Control-Request-Method': 'POST',
            'Access-Control-Request-Headers': 'authorization,content-type',
          },
        }),
      status: 404,
      code: 'not_found',
    },
    {
      name: 'simple GET from a foreign origin with the admin’s browser cookie',
      send: () => raw('/api/onboarding/tenant', { headers: { Origin: evil, Cookie: p.nestorCookie } }),
      status: 401,
      code: 'missing_token',
    },
    {
      name: 'simple text/plain POST of a ticket with the admin’s cookie (CSRF)',
      send: () =>
        raw('/api/onboarding/complete', {
          method: 'POST',
          headers: { Origin: evil, Cookie: p.nestorCookie, 'Content-Type': 'text/plain' },
          body: JSON.stringify({ ticket: p.nestorTicket }),
        }),
      status: 401,
      code: 'missing_token',
    },
    {
      name: 'form POST offboarding with the admin’s cookie (CSRF)',
      send: () =>
        raw('/api/onboarding/offboard', {
          method: 'POST',
          headers: {
            Origin: evil,
            Cookie: p.nestorCookie,
            'Content-Type': 'application/x-www-form-urlencoded',
          },
          body: 'confirm=true',
        }),
      status: 401,
      code: 'missing_token',
    },
  ],

  onboarding: [
    {
      name: 'anonymous start',
      send: () =>
        raw('/api/onboarding/start', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ orgUrl: p.fabrikamOrgUrl }),
        }),
      status: 401,
      code: 'missing_token',
    },
    {
      name: 'start by a plain user',
      send: () => start(p.carol, { orgUrl: p.fabrikamOrgUrl }),
      status: 403,
      code: 'not_tenant_admin',
    },
    {
      name: 'start by a user whose directory role cannot grant consent (User Administrator)',
      send: async () =>
        start(await t.userToken(p.northwind.helpdesk), {
          orgUrl: p.northwindOrgUrl,
          intent: 'reconnect',
          confirm: true,
        }),
      status: 403,
      code: 'not_tenant_admin',
    },
    {
      name: 'anonymous replay of a completed callback (same cookie)',
      send: () => callback(consent(ids.fabrikamTenantId, p.used.state), p.used.cookie),
      status: 303,
      code: 'STATE_REUSED',
    },
    {
      name: 'anonymous replay of a completed callback (no cookie)',
      send: () => callback(consent(ids.fabrikamTenantId, p.used.state)),
      status: 303,
      code: 'STATE_SESSION_MISMATCH',
    },
    {
      name: 'callback with a forged state',
      send: () =>
        callback(
          consent(ids.fabrikamTenantId, `${b64({ tid: ids.fabrikamTenantId })}.${'A'.repeat(43)}`),
          p.attackerCookie,
        ),
      status: 303,
      code: 'INVALID_STATE',
    },
    {
      name: 'consent state of another browser session',
      send: () => callback(consent(ids.fabrikamTenantId, p.nestorStates[1] ?? ''), p.attackerCookie),
      status: 303,
      code: 'STATE_SESSION_MISMATCH',
    },
    {
      name: 'another tenant’s admin’s state completed in this admin’s browser',
      send: () => callback(consent(ids.contosoTenantId, p.meganStates[0] ?? ''), p.nestorCookie),
      status: 303,
      code: 'STATE_SESSION_MISMATCH',
    },
    {
      name: 'consent landing in another tenant than the admin’s (Contoso’s admin, tenant=Fabrikam)',
      send: () => callback(consent(ids.fabrikamTenantId, p.meganStates[1] ?? ''), p.meganCookie),
      status: 303,
      code: 'TENANT_MISMATCH',
    },
    {
      name: 'callback without admin_consent (consent refused)',
      send: () =>
        callback(
          `error=access_denied&error_description=denied&state=${encodeURIComponent(p.nestorStates[2] ?? '')}`,
          p.nestorCookie,
        ),
      status: 303,
      code: 'CONSENT_DENIED',
    },
    {
      name: 'ticket replayed after the onboarding completed',
      send: () => completeOnboarding(t, ids.users.fabrikamAdmin, p.used.ticket, p.used.cookie),
      status: 400,
      code: 'state_reused',
    },
    {
      name: 'ticket presented from another browser (no cookie)',
      send: () => completeOnboarding(t, ids.users.fabrikamAdmin, p.nestorTicket),
      status: 400,
      code: 'state_session_mismatch',
    },
    {
      name: 'consent ticket of another tenant’s admin (Contoso’s, with its cookie)',
      send: () => completeOnboarding(t, ids.users.fabrikamAdmin, p.meganTicket, p.meganCookie),
      status: 403,
      code: 'consent_of_another_admin',
    },
    {
      name: 'a state presented as a ticket',
      send: () => completeOnboarding(t, ids.users.fabrikamAdmin, p.nestorStates[3] ?? '', p.nestorCookie),
      status: 400,
      code: 'invalid_state',
    },
    {
      name: 're-point a connected tenant by a plain user (change_org)',
      send: () => start(p.carol, { orgUrl: p.sandboxUrl, intent: 'change_org', confirm: true }),
      status: 403,
      code: 'not_tenant_admin',
    },
    {
      name: 're-point a connected tenant through a plain consent (connect)',
      send: () => start(p.nestor, { orgUrl: p.sandboxUrl }),
      status: 409,
      code: 'org_url_differs',
      discoveryProbe: true,
    },
    {
      name: 're-point without the confirmation',
      send: () => start(p.nestor, { orgUrl: p.sandboxUrl, intent: 'change_org' }),
      status: 409,
      code: 'confirmation_required',
      discoveryProbe: true,
    },
    {
      name: 'verify by a plain user',
      send: () => request(t, '/api/onboarding/verify', { token: p.carol, body: {} }),
      status: 403,
      code: 'not_tenant_admin',
    },
    {
      name: 'provision by a plain user with their own org token',
      send: async () =>
        request(t, '/api/onboarding/provision', {
          token: p.carol,
          body: {
            dataverseToken: await t.emulator.world.mintUserAccessToken({
              userObjectId: ids.users.fabrikamCarol,
              appId,
              resource: p.fabrikamOrgUrl,
            }),
          },
        }),
      status: 403,
      code: 'not_tenant_admin',
    },
    {
      name: 'offboard by a plain user',
      send: () => request(t, '/api/onboarding/offboard', { token: p.carol, body: { confirm: true } }),
      status: 403,
      code: 'not_tenant_admin',
    },
    {
      name: 'offboard through the sample’s former admin route',
      send: () => request(t, '/api/admin/offboard', { token: p.carol, body: { confirm: true } }),
      status: 404,
      code: 'not_found',
    },
    {
      name: 'event log read by a plain user',
      send: () => get('/api/onboarding/events', p.carol),
      status: 403,
      code: 'not_tenant_admin',
    },
    {
      name: 'reverse an offboarding: reconnect started by a plain user',
      send: async () =>
        start(await t.userToken(p.northwind.user), {
          orgUrl: p.northwindOrgUrl,
          intent: 'reconnect',
          confirm: true,
        }),
      status: 403,
      code: 'not_tenant_admin',
    },
    {
      name: 'reverse an offboarding through a plain consent (connect)',
      send: async () => start(await t.userToken(p.northwind.admin), { orgUrl: p.northwindOrgUrl }),
      status: 409,
      code: 'tenant_offboarded',
    },
    {
      name: 'reverse an offboarding without the confirmation',
      send: async () =>
        start(await t.userToken(p.northwind.admin), { orgUrl: p.northwindOrgUrl, intent: 'reconnect' }),
      status: 409,
      code: 'confirmation_required',
    },
    {
      name: 'reverse an offboarding by replaying its first consent callback',
      send: () => callback(consent(p.northwind.tenantId, p.northwind.usedState), p.northwind.usedCookie),
      status: 303,
      code: 'STATE_REUSED',
    },
    {
      name: 'reverse an offboarding by a plain user’s verify',
      send: async () =>
        request(t, '/api/onboarding/verify', { token: await t.userToken(p.northwind.user), body: {} }),
      status: 403,
      code: 'not_tenant_admin',
    },
    {
      name: 'reverse an offboarding by the admin’s verify',
      send: async () =>
        request(t, '/api/onboarding/verify', { token: await t.userToken(p.northwind.admin), body: {} }),
      status: 409,
      code: 'tenant_offboarded',
    },
    {
      name: 'offboarded tenant’s user reads data',
      send: async () => get('/api/tables/accounts', await t.userToken(p.northwind.user)),
      status: 403,
      code: 'tenant_inactive',
    },
    {
      name: 'reconnect another tenant’s offboarded org (Fabrikam’s admin, Northwind’s org)',
      send: () => start(p.nestor, { orgUrl: p.northwindOrgUrl, intent: 'reconnect', confirm: true }),
      status: 403,
      code: 'org_in_other_tenant',
    },
  ],
}

/** What an attack could have changed: requests per org and to the token endpoint, and the whole registry. */
async function effects() {
  const counters = t.emulator.admin.counters()
  const perOrg: Record<string, number> = {}
  const probes: Record<string, number> = {}
  for (const r of counters.dataverseRequests) {
    // A request without a token that got the 401 challenge (what tenant discovery sends) reads nothing.
    const probe = r.callerId === 'anonymous' && r.status === 401
    if (probe) probes[r.orgId] = (probes[r.orgId] ?? 0) + r.count
    else perOrg[r.orgId] = (perOrg[r.orgId] ?? 0) + r.count
  }
  const registry = t.running.registry
  const tenants = await registry.list()
  const events = await Promise.all(tenants.map((x) => registry.events(x.tenantId)))
  return {
    perOrg,
    probes,
    tokens: counters.totals.tokenRequests,
    registry: JSON.stringify([tenants, events]),
  }
}

/**
 * Nothing reached Dataverse or the token endpoint, and the registry (tenants and their event logs) is as before.
 * `ownOrg`: the attacker's own org may answer (and a token may be fetched for it); `discoveryProbe`: an org may get
 * one request without a token.
 */
function expectNoEffect(
  name: string,
  before: Awaited<ReturnType<typeof effects>>,
  after: Awaited<ReturnType<typeof effects>>,
  allow: { ownOrg?: string | undefined; discoveryProbe?: true | undefined } = {},
) {
  const { ownOrg } = allow
  expect(after.registry, `${name}: registry`).toBe(before.registry)
  if (!allow.discoveryProbe)
    expect(after.probes, `${name}: requests without a token to any org`).toEqual(before.probes)
  const orgs = new Set([...Object.keys(before.perOrg), ...Object.keys(after.perOrg)])
  for (const org of orgs) {
    if (org === ownOrg) continue
    expect(after.perOrg[org] ?? 0, `${name}: Dataverse requests to org ${org}`).toBe(before.perOrg[org] ?? 0)
  }
  if (!ownOrg) expect(after.tokens, `${name}: token requests`).toBe(before.tokens)
}

/** The error code of an answer: the JSON `error.code`, or the `error` of a redirect to the SPA. */
async function errorCode(res: Response): Promise<string | undefined> {
  if (res.status === 303) {
    const q = new URLSearchParams((res.headers.get('location') ?? '').split('?')[1] ?? '')
    expect(q.get('ticket'), 'a refused callback hands out no ticket').toBeNull()
    return q.get('error') ?? undefined
  }
  const text = await res.text()
  try {
    return (JSON.parse(text) as { error?: { code?: string } }).error?.code
  } catch {
    return undefined
  }
}

beforeAll(async () => {
  t = await startTestApp()
  const admin = t.emulator.admin
  const org = (tid: string) => t.org(tid)
  p.fabrikamOrgUrl = org(ids.fabrikamTenantId).url
  p.fabrikamOrgId = org(ids.fabrikamTenantId).id
  p.contosoOrgUrl = org(ids.contosoTenantId).url

  const done = await onboard(t, ids.fabrikamTenantId, ids.users.fabrikamAdmin)
  const [, , usedState, usedTicket] = done.log
  p.used = { state: usedState ?? '', ticket: usedTicket ?? '', cookie: done.session }

  p.carol = await t.userToken(ids.users.fabrikamCarol)
  p.dave = await t.userToken(ids.users.fabrikamDave)
  p.nestor = await t.userToken(ids.users.fabrikamAdmin)
  p.alice = await t.userToken(ids.users.contosoAlice)
  p.megan = await t.userToken(ids.users.contosoAdmin)

  // Contoso's data as its own user sees it: a record id and a paging cursor to steal.
  const contoso = (await (await get('/api/tables/accounts?pageSize=2', p.alice)).json()) as {
    rows: { id: string }[]
    next: string
  }
  p.contosoAccountId = contoso.rows[0]?.id ?? ''
  p.contosoCursor = contoso.next
  const dave = (await (await get('/api/tables/accounts?pageSize=1', p.dave)).json()) as { next: string }
  p.daveCursor = dave.next

  // A second org in Fabrikam's tenant, to re-point the connected tenant to.
  p.sandboxUrl = (
    await admin.createOrg({ tenantId: ids.fabrikamTenantId, uniqueName: 'fabrikam-sandbox' })
  ).url

  // Fresh flows: states Nestor started in his browser, a ticket he got, Megan's ticket, an attacker's own session.
  const first = await startOnboarding(t, ids.users.fabrikamAdmin, { orgUrl: p.fabrikamOrgUrl })
  p.nestorCookie = first.cookie
  p.nestorStates = [first.state]
  for (let i = 0; i < 4; i++) {
    const s = await startOnboarding(t, ids.users.fabrikamAdmin, { orgUrl: p.fabrikamOrgUrl }, p.nestorCookie)
    p.nestorStates.push(s.state)
  }
  p.nestorTicket =
    (
      await consentCallback(
        t,
        { tenant: ids.fabrikamTenantId, state: p.nestorStates[4] ?? '' },
        p.nestorCookie,
      )
    ).get('ticket') ?? ''
  const megan = await startOnboarding(t, ids.users.contosoAdmin, { orgUrl: p.contosoOrgUrl })
  p.meganCookie = megan.cookie
  p.meganTicket =
    (await consentCallback(t, { tenant: ids.contosoTenantId, state: megan.state }, megan.cookie)).get(
      'ticket',
    ) ?? ''
  for (let i = 0; i < 2; i++) {
    const s = await startOnboarding(t, ids.users.contosoAdmin, { orgUrl: p.contosoOrgUrl }, p.meganCookie)
    p.meganStates.push(s.state)
  }
  p.attackerCookie =
    (await startOnboarding(t, ids.users.contosoAlice, { orgUrl: p.contosoOrgUrl })).cookie ||
    `dvs2s_session=${'x'.repeat(43)}`

  // Northwind: onboarded by its admin, then offboarded by her; a plain user and a helpdesk user with a role that
  // cannot grant consent.
  const tenant = admin.createTenant({ displayName: 'Northwind' })
  p.northwind.tenantId = tenant.id
  p.northwind.admin = admin.createUser({
    tenantId: tenant.id,
    userPrincipalName: 'admin@northwind.onmicrosoft.com',
    displayName: 'Nora Admin',
    isTenantAdmin: true,
    dataverseRoles: ['System Administrator'],
  }).objectId
  p.northwind.user = admin.createUser({
    tenantId: tenant.id,
    userPrincipalName: 'nick@northwind.onmicrosoft.com',
    displayName: 'Nick User',
    dataverseRoles: ['Basic User'],
  }).objectId
  p.northwind.helpdesk = admin.createUser({
    tenantId: tenant.id,
    userPrincipalName: 'helpdesk@northwind.onmicrosoft.com',
    displayName: 'Hana Helpdesk',
    // User Administrator: a directory role, but not one that can grant tenant-wide consent.
    directoryRoles: ['fe930be7-5e62-47db-91af-98c3a49a38b1'],
  }).objectId
  p.northwindOrgUrl = (await admin.createOrg({ tenantId: tenant.id, uniqueName: 'northwind' })).url
  const nw = await onboard(t, tenant.id, p.northwind.admin)
  p.northwind.usedState = nw.log[2] ?? ''
  p.northwind.usedCookie = nw.session
  const off = await request(t, '/api/onboarding/offboard', {
    token: await t.userToken(p.northwind.admin),
    body: { confirm: true },
  })
  if (off.status !== 200) throw new Error(`offboard: ${off.status} ${await off.text()}`)
}, 180_000)

afterAll(async () => {
  await t?.running.stop()
})

const table = Object.entries(attacks).flatMap(([category, list]) =>
  list.map((a) => ({ ...a, category: category as Category })),
)

describe('attacks on the multi-tenant sample', () => {
  it('covers at least 40 attacks across every category of issue #11', () => {
    expect(table.length).toBeGreaterThanOrEqual(40)
    for (const list of Object.values(attacks)) expect(list.length).toBeGreaterThan(0)
    expect(new Set(table.map((a) => a.name)).size).toBe(table.length)
  })

  it.each(table)('$category: $name → $status', async (attack) => {
    const before = await effects()
    const res = await attack.send()
    expect(res.status, attack.name).toBe(attack.status)
    expect(res.headers.get('access-control-allow-origin'), 'no CORS grant').toBeNull()
    expect(res.headers.get('access-control-allow-credentials'), 'no CORS grant').toBeNull()
    if (attack.code === null) {
      expect(attack.served, `${attack.name}: a served attack says what the answer must be`).toBeDefined()
      await attack.served?.(res)
    } else {
      expect(await errorCode(res), attack.name).toBe(attack.code)
    }
    expectNoEffect(attack.name, before, await effects(), {
      ownOrg: attack.ownOrg?.(),
      discoveryProbe: attack.discoveryProbe,
    })
  })

  it('an org URL on another local port is refused unprobed: onboarding cannot scan the machine’s ports', async () => {
    // On the emulator every org is on localhost: only its own orgs may be probed by tenant discovery.
    let connections = 0
    const trap = createServer((socket) => {
      connections++
      socket.destroy()
    })
    await new Promise<void>((resolve) => trap.listen(0, '127.0.0.1', resolve))
    const listening = (trap.address() as { port: number }).port
    const closed = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const port = (s.address() as { port: number }).port
        s.close(() => resolve(port))
      })
    })
    try {
      const before = await effects()
      const messages: string[] = []
      for (const port of [listening, closed, new URL(t.emulator.url).port]) {
        const res = await start(p.nestor, { orgUrl: `https://localhost:${port}/` })
        expect(res.status, `port ${port}`).toBe(400)
        const body = (await res.json()) as { error: { code: string; message: string } }
        expect(body.error.code).toBe('org_not_found')
        messages.push(body.error.message.replace(String(port), 'PORT'))
      }
      expect(new Set(messages).size, 'the answer does not tell a listening port from a closed one').toBe(1)
      expect(connections, 'no connection to the named port').toBe(0)
      expectNoEffect('local port probe', before, await effects())
      // The emulator's own orgs, also one added while the app runs, are still found.
      expect((await start(p.nestor, { orgUrl: p.sandboxUrl, intent: 'change_org' })).status).toBe(409)
    } finally {
      trap.close()
    }
  })

  it('no attack put a token in a log line or made the server fail', () => {
    const all = t.logs.join('\n')
    expect(all).not.toMatch(/eyJ[\w-]{10,}\.eyJ[\w-]{10,}/)
    expect(all).not.toContain('a'.repeat(64))
    expect(all).not.toContain('unexpected error')
  })

  it('the legitimate requests the attacks imitate still work (the refusals are not a broken app)', async () => {
    expect((await get('/api/tables/accounts?pageSize=1', p.carol)).status).toBe(200)
    const next = (await (await get('/api/tables/accounts?pageSize=1', p.carol)).json()) as { next: string }
    expect(
      (await get(`/api/tables/accounts?pageSize=1&cursor=${encodeURIComponent(next.next)}`, p.carol)).status,
    ).toBe(200)
    const lower = await raw('/api/me', { headers: { Authorization: `bearer ${p.carol}`, 'X-Act-As': 'me' } })
    expect(lower.status).toBe(200)
    expect(((await lower.json()) as { actor: string }).actor).toBe('user')
    expect((await request(t, '/api/onboarding/verify', { token: p.nestor, body: {} })).status).toBe(200)
  })
})
