import { createHash, randomUUID } from 'node:crypto'
import { EmulatorError } from '../errors.ts'
import type { MintAppTokenOptions, MintIdTokenOptions, MintUserAccessTokenOptions, Tenant } from './types.ts'
import type { World } from './world-api.ts'

const b64 = (bytes: number) =>
  Buffer.from(randomUUID().replaceAll('-', '') + randomUUID(), 'utf8')
    .toString('base64url')
    .slice(0, bytes)

function requireTenant(world: World, tenantId: string): Tenant {
  const tenant = world.getTenant(tenantId)
  if (!tenant) throw new EmulatorError('NOT_FOUND', `Tenant '${tenantId}' does not exist; create it first.`)
  return tenant
}

function common(
  world: World,
  lifetimeSeconds: number,
): {
  iat: number
  nbf: number
  exp: number
  uti: string
  aio: string
  rh: string
} {
  const now = Math.floor(world.clock.now() / 1000)
  return { iat: now, nbf: now, exp: now + lifetimeSeconds, uti: b64(22), aio: b64(40), rh: `0.${b64(30)}.` }
}

function pairwiseSub(objectId: string, appId: string): string {
  return createHash('sha256').update(`${objectId}|${appId}`).digest('base64url')
}

/**
 * An app-only access token, as the client-credentials grant issues it: a v1 token for an org (`aud` = org URL,
 * `iss` = `{authorityUrl}/{tid}/`, `appid`, `appidacr`, `oid` = `sub` = the service principal, `idtyp: 'app'`), or a
 * token for an app's API in the version its `requestedAccessTokenVersion` asks for (v2 by default).
 * @throws {EmulatorError} 'NOT_FOUND' (tenant or app), 'NO_SERVICE_PRINCIPAL' (no consent in that tenant),
 * 'UNKNOWN_RESOURCE'.
 */
export async function mintAppToken(world: World, options: MintAppTokenOptions): Promise<string> {
  const tenant = requireTenant(world, options.tenantId)
  const app = world.getApp(options.appId)
  if (!app) throw new EmulatorError('NOT_FOUND', `App ${options.appId} does not exist.`)
  const sp = world.getServicePrincipal(tenant.id, app.appId)
  if (!sp)
    throw new EmulatorError(
      'NO_SERVICE_PRINCIPAL',
      `App ${app.appId} has no service principal in tenant ${tenant.id}.`,
    )
  const resource = world.resolveResource(options.resource)
  if (!resource) throw new EmulatorError('UNKNOWN_RESOURCE', `No resource is known as '${options.resource}'.`)
  const base = common(world, options.lifetimeSeconds ?? 3599)
  const acr = String(options.credentialType ?? 1)
  if (resource.kind !== 'api' || resource.app.requestedAccessTokenVersion === 1) {
    const iss = world.v1Issuer(tenant.id)
    return world.signingKeys.signJwt(
      {
        aud: resource.kind !== 'api' ? resource.audience : resource.v1Audience,
        iss,
        ...base,
        appid: app.appId,
        appidacr: acr,
        idp: iss,
        idtyp: 'app',
        oid: sp.objectId,
        sub: sp.objectId,
        tid: tenant.id,
        ver: '1.0',
      },
      { x5t: true },
    )
  }
  return world.signingKeys.signJwt({
    aud: resource.audience,
    iss: world.v2Issuer(tenant.id),
    ...base,
    azp: app.appId,
    azpacr: acr,
    idtyp: 'app',
    oid: sp.objectId,
    sub: sp.objectId,
    tid: tenant.id,
    ver: '2.0',
  })
}

/**
 * A delegated (user) access token: v1 for an org (`scp` 'user_impersonation', `upn`, `unique_name`); for an app's
 * own API, v2 (`scp` its exposed scopes, `azp`, `preferred_username`) or, when its `requestedAccessTokenVersion` is
 * 1, v1 (`aud` the identifier asked for, `appid`, `upn`, `unique_name`).
 * @throws {EmulatorError} 'NOT_FOUND' (user or app), 'UNKNOWN_RESOURCE'.
 */
export async function mintUserAccessToken(
  world: World,
  options: MintUserAccessTokenOptions,
): Promise<string> {
  const user = world.getUser(options.userObjectId)
  if (!user) throw new EmulatorError('NOT_FOUND', `User ${options.userObjectId} does not exist.`)
  const app = world.getApp(options.appId)
  if (!app) throw new EmulatorError('NOT_FOUND', `App ${options.appId} does not exist.`)
  const resource = world.resolveResource(options.resource)
  if (!resource) throw new EmulatorError('UNKNOWN_RESOURCE', `No resource is known as '${options.resource}'.`)
  const base = common(world, options.lifetimeSeconds ?? 3599)
  const acr = String(options.credentialType ?? 0)
  const names = user.displayName.split(' ')
  // The resource's manifest picks the version, whichever endpoint issued the token (entra-docs access-tokens.md,
  // "Token formats" and "Token ownership"); Dataverse always gets v1.0.
  if (resource.kind !== 'api' || resource.app.requestedAccessTokenVersion === 1) {
    const iss = world.v1Issuer(user.tenantId)
    return world.signingKeys.signJwt(
      {
        aud: resource.kind !== 'api' ? resource.audience : resource.v1Audience,
        iss,
        ...base,
        acr: '1',
        amr: ['pwd'],
        appid: app.appId,
        appidacr: acr,
        family_name: names.length > 1 ? names.slice(1).join(' ') : '',
        given_name: names[0] ?? '',
        idp: iss,
        name: user.displayName,
        oid: user.objectId,
        scp:
          options.scp ??
          (resource.kind !== 'api' ? 'user_impersonation' : resource.app.exposedScopes.join(' ')),
        sub: pairwiseSub(user.objectId, app.appId),
        tid: user.tenantId,
        unique_name: user.userPrincipalName,
        upn: user.userPrincipalName,
        ver: '1.0',
        ...world.widsFor(user, resource.kind === 'api' ? resource.app : undefined),
      },
      { x5t: true },
    )
  }
  return world.signingKeys.signJwt({
    aud: resource.audience,
    iss: world.v2Issuer(user.tenantId),
    ...base,
    azp: app.appId,
    azpacr: acr,
    name: user.displayName,
    oid: user.objectId,
    preferred_username: user.userPrincipalName,
    scp: options.scp ?? resource.app.exposedScopes.join(' '),
    sub: pairwiseSub(user.objectId, app.appId),
    tid: user.tenantId,
    ver: '2.0',
    ...world.widsFor(user, resource.app),
  })
}

/** A v2 ID token for `appId` (`aud`), with `nonce` when given. */
export async function mintIdToken(world: World, options: MintIdTokenOptions): Promise<string> {
  const user = world.getUser(options.userObjectId)
  if (!user) throw new EmulatorError('NOT_FOUND', `User ${options.userObjectId} does not exist.`)
  return world.signingKeys.signJwt({
    aud: options.appId,
    iss: world.v2Issuer(user.tenantId),
    ...common(world, options.lifetimeSeconds ?? 3600),
    ...(options.authTime === undefined ? {} : { auth_time: options.authTime }),
    name: user.displayName,
    ...(options.nonce === undefined ? {} : { nonce: options.nonce }),
    oid: user.objectId,
    preferred_username: user.userPrincipalName,
    sub: pairwiseSub(user.objectId, options.appId),
    tid: user.tenantId,
    ver: '2.0',
    ...world.widsFor(user, world.getApp(options.appId)),
  })
}
