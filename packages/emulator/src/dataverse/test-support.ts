import { Counters, Faults } from '../faults.ts'
import { defaultIds, defaultSeed } from '../world/default-seed.ts'
import type { WorldSeed } from '../world/types.ts'
import { createWorld, type World } from '../world/world.ts'
import { createOrg, type OrgRuntime, type OrgSeed } from './index.ts'

export const ids = defaultIds

let sharedWorld: Promise<World> | undefined

/** A world with the default seed and one org runtime served (in process) at `https://localhost:8444`. */
export async function setup(
  options: { orgId?: string; seed?: OrgSeed; url?: string; world?: WorldSeed } = {},
): Promise<{
  world: World
  org: OrgRuntime
  url: string
  counters: Counters
  faults: Faults
  appToken(tenantId?: string, appId?: string): Promise<string>
  userToken(userObjectId: string): Promise<string>
  request(path: string, init?: RequestInit & { token?: string | null }): Promise<Response>
  /** The systemuserid WhoAmI reports for a request made with these options (e.g. impersonation headers). */
  whoAmI(init?: RequestInit & { token?: string | null }): Promise<string>
}> {
  // building a world generates keys and certificates; tests in one file share the default one
  if (!options.world && !sharedWorld)
    sharedWorld = createWorld(defaultSeed(), { authorityUrl: 'https://localhost:8443' })
  const world = options.world
    ? await createWorld(options.world, { authorityUrl: 'https://localhost:8443' })
    : await (sharedWorld as Promise<World>)
  const info = world.getOrg(options.orgId ?? ids.contosoOrgId)
  if (!info) throw new Error('no such org in the seed')
  const url = options.url ?? 'https://localhost:8444'
  info.url = url
  const faults = new Faults(7)
  const counters = new Counters()
  const org = createOrg({
    world,
    org: info,
    faults,
    counters,
    ...(options.seed ? { seed: options.seed } : {}),
  })
  let defaultToken: string | undefined
  const appToken = (tenantId: string = info.tenantId, appId: string = ids.multiTenantAppId) =>
    world.mintAppToken({ tenantId, appId, resource: url })
  const userToken = (userObjectId: string) =>
    world.mintUserAccessToken({ userObjectId, appId: ids.multiTenantAppId, resource: url })
  const request = async (path: string, init: RequestInit & { token?: string | null } = {}) => {
    const { token, ...rest } = init
    const headers = new Headers(rest.headers)
    if (token !== null) {
      defaultToken ??= await appToken()
      headers.set('Authorization', `Bearer ${token ?? defaultToken}`)
    }
    return org.app.request(path.startsWith('http') ? path : `${url}${path}`, { ...rest, headers })
  }
  const whoAmI = async (init: RequestInit & { token?: string | null } = {}) =>
    ((await (await request('/api/data/v9.2/WhoAmI', init)).json()) as { UserId: string }).UserId
  return { world, org, url, counters, faults, appToken, userToken, request, whoAmI }
}

/** One request of a `$batch` body written by a test. */
export interface BatchOp {
  method: string
  url: string
  body?: unknown
  contentId?: number | string
  headers?: Record<string, string>
}

function batchPart(op: BatchOp): string {
  const headers = Object.entries(op.headers ?? {})
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')
  const body = op.body === undefined ? '' : JSON.stringify(op.body)
  return `Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n${op.contentId === undefined ? '' : `Content-ID: ${op.contentId}\r\n`}\r\n${op.method} ${op.url} HTTP/1.1\r\n${body ? 'Content-Type: application/json; type=entry\r\n' : ''}${headers}\r\n${body}\r\n`
}

/** A `$batch` body in the documented form: requests, and arrays of requests as change sets. */
export function batchBody(items: (BatchOp | BatchOp[])[]): { body: string; contentType: string } {
  const b = 'batch_abc'
  let text = ''
  items.forEach((item, i) => {
    if (Array.isArray(item)) {
      const cs = `changeset_${i}`
      text += `--${b}\r\nContent-Type: multipart/mixed; boundary=${cs}\r\n\r\n${item.map((op) => `--${cs}\r\n${batchPart(op)}`).join('')}--${cs}--\r\n`
    } else text += `--${b}\r\n${batchPart(item)}`
  })
  return { body: `${text}--${b}--\r\n`, contentType: `multipart/mixed; boundary="${b}"` }
}
