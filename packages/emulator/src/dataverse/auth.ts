import type { JWTPayload } from 'jose'
import type { World } from '../world/world.ts'
import { DataverseFault, Fault } from './errors.ts'
import type { ColumnDef } from './metadata.ts'
import type { OrgCore } from './org-core.ts'
import { shallower } from './privileges.ts'
import type { AccessDepth, CallContext } from './request.ts'
import type { Row } from './store.ts'
import { GUID_RE } from './values.ts'

/** A 401 for a request that has no usable bearer token; the challenge is added by the app. */
export class Unauthorized extends Error {
  override name = 'Unauthorized'
}

interface Verified {
  claims: JWTPayload
  exp: number
}

/**
 * Verifies bearer tokens for one org and caches what it verified, so the hot path (a token seen before) is a map
 * lookup and an expiry check instead of an RSA verification.
 */
export class TokenVerifier {
  private readonly cache = new Map<string, Verified>()
  private readonly maxEntries = 10_000
  // A rollover can unpublish the key a cached token was signed with: such tokens must then fail like new ones.
  private keyGeneration = -1

  constructor(
    private readonly world: World,
    private readonly orgUrl: () => string,
    private readonly tenantId: string,
  ) {}

  /** Verify synchronously from the cache, or return undefined when the token must be verified in full. */
  cached(token: string): JWTPayload | undefined {
    const generation = this.world.signingKeys.generation
    if (generation !== this.keyGeneration) {
      this.cache.clear()
      this.keyGeneration = generation
    }
    const hit = this.cache.get(token)
    if (!hit) return undefined
    if (hit.exp * 1000 <= this.world.clock.now()) {
      this.cache.delete(token)
      throw new Unauthorized('The access token has expired.')
    }
    return hit.claims
  }

  async verify(token: string): Promise<JWTPayload> {
    const hit = this.cached(token)
    if (hit) return hit
    let claims: JWTPayload
    try {
      claims = await this.world.verifyJwt(token)
    } catch {
      throw new Unauthorized('The access token is not valid.')
    }
    const url = this.orgUrl().toLowerCase()
    const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud]
    const audOk = audiences.some((a) => {
      if (typeof a !== 'string') return false
      const x = a.toLowerCase()
      return x === url || x === `${url}/`
    })
    if (!audOk) throw new Unauthorized('The access token was issued for another resource.')
    const tid = typeof claims.tid === 'string' ? claims.tid.toLowerCase() : ''
    if (tid !== this.tenantId.toLowerCase())
      throw new Unauthorized('The access token was issued by another tenant.')
    const iss = typeof claims.iss === 'string' ? claims.iss : ''
    if (
      iss !== `${this.world.authorityUrl}/${claims.tid}/` &&
      iss !== `${this.world.authorityUrl}/${claims.tid}/v2.0`
    ) {
      throw new Unauthorized('The access token has an unexpected issuer.')
    }
    if (typeof claims.exp !== 'number') throw new Unauthorized('The access token has no expiry.')
    if (this.cache.size >= this.maxEntries) this.cache.clear()
    this.cache.set(token, { claims, exp: claims.exp })
    return claims
  }

  clear(): void {
    this.cache.clear()
  }
}

/** Map verified claims to the calling system user: app-only by `appid`, delegated by `oid`. */
export function resolveCaller(core: OrgCore, claims: JWTPayload): Row {
  const appOnly =
    claims.idtyp === 'app' ||
    (claims.scp === undefined && claims.roles !== undefined) ||
    (claims.scp === undefined && claims.upn === undefined)
  const key = appOnly ? 'applicationid' : 'azureactivedirectoryobjectid'
  const value = appOnly ? (claims.appid ?? claims.azp) : claims.oid
  if (typeof value !== 'string' || !GUID_RE.test(value)) throw Fault.notMember()
  const row = enabledSystemUser(core, key, value)
  if (!row) throw Fault.notMember()
  return row
}

/** The system user whose `key` column holds `value` (any case), unless there is none or it is disabled. */
export function enabledSystemUser(
  core: OrgCore,
  key: 'applicationid' | 'azureactivedirectoryobjectid',
  value: string,
): Row | undefined {
  const users = core.table('systemuser')
  const row = users.getByKey(new Map([[key, value.toLowerCase()]]))
  const disabled = users.def.byName.get('isdisabled') as ColumnDef
  return row && row[disabled.index] !== true ? row : undefined
}

/**
 * Build the call context: the caller's privileges, and impersonation through `CallerObjectId` (Entra object id) or
 * `MSCRMCallerID` (systemuserid), which needs prvActOnBehalfOfAnotherUser; the effective privileges are then the
 * intersection of both users' (Dataverse docs, "Impersonate another user using the Web API").
 */
export function callContext(
  core: OrgCore,
  caller: Row,
  headers: Headers,
  cache: PrivilegeCache,
): CallContext {
  const users = core.table('systemuser')
  const callerId = users.id(caller)
  const own = cache.get(core, callerId)
  const objectId = headers.get('callerobjectid')
  const legacy = headers.get('mscrmcallerid')
  const depthIn = (held: Map<string, AccessDepth>, p: string) => (held.has('*') ? 'Global' : held.get(p))
  if (objectId === null && legacy === null) {
    return {
      userId: callerId,
      callerId,
      onBehalfOf: false,
      can: (p) => own.has(p) || own.has('*'),
      depth: (p) => depthIn(own, p),
    }
  }
  const raw = (objectId ?? legacy ?? '').trim().replace(/^\{|\}$/g, '')
  if (!GUID_RE.test(raw)) {
    throw Fault.invalidArgument(
      `The ${objectId !== null ? 'CallerObjectId' : 'MSCRMCallerID'} header must be a GUID.`,
    )
  }
  if (!(own.has('prvActOnBehalfOfAnotherUser') || own.has('*'))) {
    throw Fault.privilegeDenied(callerId, 'prvActOnBehalfOfAnotherUser')
  }
  const target =
    objectId !== null
      ? users.getByKey(new Map([['azureactivedirectoryobjectid', raw.toLowerCase()]]))
      : users.get(raw.toLowerCase())
  if (!target) throw Fault.notFound('systemuser', raw.toLowerCase())
  if (target[(users.def.byName.get('isdisabled') as ColumnDef).index] === true) {
    throw new DataverseFault(403, '0x80072560', `The user with SystemUserId=${users.id(target)} is disabled.`)
  }
  const userId = users.id(target)
  const theirs = cache.get(core, userId)
  const has = (held: Map<string, AccessDepth>, p: string) => held.has(p) || held.has('*')
  return {
    userId,
    callerId,
    onBehalfOf: userId !== callerId,
    can: (p) => has(own, p) && has(theirs, p),
    depth: (p) => shallower(depthIn(own, p), depthIn(theirs, p)),
  }
}

/** Privileges per user, recomputed when roles or assignments change. */
export class PrivilegeCache {
  private version = -1
  private readonly byUser = new Map<string, Map<string, AccessDepth>>()

  get(core: OrgCore, userId: string): Map<string, AccessDepth> {
    if (this.version !== core.securityVersion) {
      this.byUser.clear()
      this.version = core.securityVersion
    }
    let set = this.byUser.get(userId)
    if (!set) {
      set = core.privilegesOf(userId)
      this.byUser.set(userId, set)
    }
    return set
  }
}
