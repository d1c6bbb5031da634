// The Global Discovery Service (Microsoft Learn: "Discover user organizations", power-apps/developer/data-platform/
// discovery-service; "Discover the URL for your organization", webapi/discover-url-organization-web-api):
// - `GET {gds}/api/discovery/v2.0/Instances` answers `{ "@odata.context", "value": [Instance...] }`, the instances the
//   calling user can access (an empty list when none); `Instances(<guid>)`, `Instances(UniqueName='x')` and the other
//   alternate keys (Region, State, Version) filter the list and still answer an array; `$select` and `$filter`
//   (eq/ne/gt/ge/lt/le, and/or/not, contains/startswith/endswith; case-sensitive strings) narrow it.
// - The caller is a user with an OAuth token for the cloud's GDS (audiences below, one per cloud, same page).
// The emulator serves it on the Entra ID origin (`EmulatorHandle.url`). Learn does not document the answer to an
// app-only token; the service lists a *user's* instances, so the emulator refuses one with 401 and says why.
import { Hono } from 'hono'
import { cors } from 'hono/cors'
import type { World } from '../world/world-api.ts'

/** The GDS of each cloud (Commercial, GCC, USG, DOD, China), also the token audience. */
export const GLOBAL_DISCOVERY_AUDIENCES = [
  'https://globaldisco.crm.dynamics.com',
  'https://globaldisco.crm9.dynamics.com',
  'https://globaldisco.crm.microsoftdynamics.us',
  'https://globaldisco.crm.appsplatform.us',
  'https://globaldisco.crm.dynamics.cn',
]

const PROPERTIES = [
  'ApiUrl',
  'DatacenterId',
  'DatacenterName',
  'EnvironmentId',
  'FriendlyName',
  'Id',
  'IsUserSysAdmin',
  'LastUpdated',
  'OrganizationType',
  'Purpose',
  'Region',
  'SchemaType',
  'State',
  'StatusMessage',
  'TenantId',
  'TrialExpirationDate',
  'UniqueName',
  'UrlName',
  'Version',
  'Url',
]

type Instance = Record<string, unknown>

function fault(status: 400 | 401 | 404, code: string, message: string) {
  return { status, body: { error: { code, message } } }
}

/** One comparison or string function of a GDS `$filter`, combined with and/or/not and parentheses. */
function parseFilter(text: string): (i: Instance) => boolean {
  const tokens = text.match(/'(?:[^']|'')*'|\(|\)|,|[^\s(),]+/g) ?? []
  let pos = 0
  const peek = () => tokens[pos]
  const take = () => {
    const t = tokens[pos++]
    if (t === undefined) throw new Error('unexpected end of $filter')
    return t
  }
  const literal = (t: string): unknown => {
    if (t.startsWith("'")) return t.slice(1, -1).replace(/''/g, "'")
    if (t === 'true' || t === 'false') return t === 'true'
    if (t === 'null') return null
    if (/^-?\d+(\.\d+)?$/.test(t)) return Number(t)
    if (/^\d{4}-\d\d-\d\dT/.test(t)) return Date.parse(t)
    throw new Error(`'${t}' is not a literal`)
  }
  const prop = (t: string) => {
    if (!PROPERTIES.includes(t)) throw new Error(`Could not find a property named '${t}' on type 'Instance'.`)
    return t
  }
  const value = (i: Instance, p: string) => {
    const v = i[p]
    return p === 'LastUpdated' || p === 'TrialExpirationDate'
      ? v == null
        ? null
        : Date.parse(v as string)
      : v
  }
  const primary = (): ((i: Instance) => boolean) => {
    const t = take()
    if (t === '(') {
      const inner = or()
      if (take() !== ')') throw new Error('missing )')
      return inner
    }
    if (t === 'not') {
      const inner = primary()
      return (i) => !inner(i)
    }
    if (['contains', 'startswith', 'endswith'].includes(t)) {
      if (take() !== '(') throw new Error(`${t} needs (`)
      const p = prop(take())
      if (take() !== ',') throw new Error(`${t} needs two arguments`)
      const s = String(literal(take()))
      if (take() !== ')') throw new Error('missing )')
      return (i) => {
        const v = i[p]
        if (typeof v !== 'string') return false
        return t === 'contains' ? v.includes(s) : t === 'startswith' ? v.startsWith(s) : v.endsWith(s)
      }
    }
    const p = prop(t)
    const op = take()
    const lit = literal(take())
    const cmp: Record<string, (a: never, b: never) => boolean> = {
      eq: (a, b) => a === b,
      ne: (a, b) => a !== b,
      gt: (a, b) => a > b,
      ge: (a, b) => a >= b,
      lt: (a, b) => a < b,
      le: (a, b) => a <= b,
    }
    const f = cmp[op]
    if (!f) throw new Error(`'${op}' is not an operator`)
    return (i) => f(value(i, p) as never, lit as never)
  }
  const and = () => {
    let left = primary()
    while (peek() === 'and') {
      take()
      const l = left
      const r = primary()
      left = (i) => l(i) && r(i)
    }
    return left
  }
  const or = (): ((i: Instance) => boolean) => {
    let left = and()
    while (peek() === 'or') {
      take()
      const l = left
      const r = and()
      left = (i) => l(i) || r(i)
    }
    return left
  }
  const f = or()
  if (pos !== tokens.length) throw new Error(`unexpected '${tokens[pos]}'`)
  return f
}

/** The GDS routes, to mount on the Entra ID origin; `isSysAdmin` answers `IsUserSysAdmin` per instance and user. */
export function createDiscoveryApp(
  world: World,
  isSysAdmin: (orgId: string, objectId: string) => boolean = () => false,
): Hono {
  const app = new Hono()
  const base = '/api/discovery/v2.0'
  // The GDS supports CORS (Learn: "Discover user organizations", CORS support): a SPA calls it with its user token.
  app.use(
    `${base}/*`,
    cors({
      origin: '*',
      allowMethods: ['GET', 'OPTIONS'],
      allowHeaders: ['Authorization', 'Accept'],
      maxAge: 86400,
    }),
  )
  const handle = async (authorization: string | undefined, url: URL, key: string | undefined) => {
    const token = /^Bearer (.+)$/i.exec(authorization ?? '')?.[1]
    if (!token)
      return fault(
        401,
        '0x80040220',
        'Authorization has been denied for this request. Send a user access token for the Global Discovery Service.',
      )
    let claims: Record<string, unknown>
    try {
      claims = (await world.verifyJwt(token)) as Record<string, unknown>
    } catch {
      return fault(
        401,
        '0x80040220',
        'Authorization has been denied for this request: the access token is invalid or expired.',
      )
    }
    const aud = String(claims.aud ?? '')
      .replace(/\/$/, '')
      .toLowerCase()
    if (!GLOBAL_DISCOVERY_AUDIENCES.includes(aud)) {
      return fault(
        401,
        '0x80040220',
        `Authorization has been denied for this request: the token's audience must be a Global Discovery Service (${GLOBAL_DISCOVERY_AUDIENCES[0]} in the commercial cloud).`,
      )
    }
    if (claims.idtyp === 'app' || typeof claims.scp !== 'string') {
      return fault(
        401,
        '0x80040220',
        'Authorization has been denied for this request: the Global Discovery Service lists the instances of a signed-in user; an app-only token has none. Acquire a delegated token for the user.',
      )
    }
    const tenantId = String(claims.tid)
    // a user the directory does not know (deleted) has access to no instance
    const oid = String(claims.oid)
    let list: Instance[] = (world.getUser(oid) ? world.orgsOf(tenantId) : []).map((o) => {
      return {
        ApiUrl: o.url,
        DatacenterId: null,
        DatacenterName: null,
        EnvironmentId: o.id,
        FriendlyName: o.displayName,
        Id: o.id,
        IsUserSysAdmin: isSysAdmin(o.id, oid),
        LastUpdated: new Date(world.clock.now()).toISOString(),
        OrganizationType: 0,
        Purpose: '',
        Region: 'NA',
        SchemaType: 'Standard',
        State: 0,
        StatusMessage: 6,
        TenantId: o.tenantId,
        TrialExpirationDate: null,
        UniqueName: o.uniqueName,
        UrlName: o.uniqueName,
        Version: '9.2.0.0',
        Url: o.url,
      }
    })
    if (key !== undefined) {
      const m = /^(?:([0-9a-fA-F-]{36})|(UniqueName|Region|State|Version)=(?:'((?:[^']|'')*)'|(\d+)))$/.exec(
        key,
      )
      if (!m)
        return fault(
          400,
          '0x80060888',
          `The key '${key}' is not an instance id or an alternate key (UniqueName, Region, State, Version).`,
        )
      if (m[1]) list = list.filter((i) => String(i.Id).toLowerCase() === (m[1] as string).toLowerCase())
      else {
        const want = m[3] !== undefined ? m[3].replace(/''/g, "'") : Number(m[4])
        list = list.filter((i) => i[m[2] as string] === want)
      }
    }
    const filter = url.searchParams.get('$filter')
    if (filter !== null) {
      try {
        const f = parseFilter(filter)
        list = list.filter(f)
      } catch (e) {
        return fault(400, '0x80060888', `Invalid $filter: ${(e as Error).message}`)
      }
    }
    const select = url.searchParams.get('$select')
    let columns = PROPERTIES
    if (select !== null) {
      columns = select.split(',').map((s) => s.trim())
      const bad = columns.find((c) => !PROPERTIES.includes(c))
      if (bad) return fault(400, '0x80060888', `Could not find a property named '${bad}' on type 'Instance'.`)
    }
    const origin = `${url.protocol}//${url.host}`
    return {
      status: 200 as const,
      body: {
        '@odata.context': `${origin}${base}/$metadata#Instances${select ? `(${columns.join(',')})` : ''}`,
        value: list.map((i) => Object.fromEntries(columns.map((c) => [c, i[c] ?? null]))),
      },
    }
  }
  const route = async (c: import('hono').Context, key: string | undefined) => {
    const r = await handle(c.req.header('authorization'), new URL(c.req.url), key)
    const headers: Record<string, string> = { 'OData-Version': '4.0' }
    if (r.status === 401)
      headers['WWW-Authenticate'] =
        `Bearer authorization_uri=${world.authorityUrl}/common/oauth2/authorize, resource_id=${GLOBAL_DISCOVERY_AUDIENCES[0]}`
    return c.json(r.body, r.status, headers)
  }
  app.get(`${base}/Instances`, (c) => route(c, undefined))
  app.get(`${base}/:segment{Instances\\(.+\\)}`, (c) => {
    const seg = decodeURIComponent(c.req.param('segment'))
    return route(c, seg.slice('Instances('.length, -1))
  })
  return app
}
