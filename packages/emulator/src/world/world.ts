import { randomUUID } from 'node:crypto'
import type { JWTPayload } from 'jose'
import { sharedSelfSignedCertificate } from '../certificates.ts'
import { createClock } from '../clock.ts'
import { GLOBAL_DISCOVERY_AUDIENCES } from '../dataverse/discovery.ts'
import { EmulatorError } from '../errors.ts'
import {
  certificateOf,
  directoryRolesOf,
  GLOBAL_ADMINISTRATOR,
  groupMembershipClaimsOf,
  guidOrNew,
  tokenVersionOf,
  trimSlash,
} from './seed-values.ts'
import { SigningKeyRing, type SigningKeys } from './signing-keys.ts'
import { mintAppToken, mintIdToken, mintUserAccessToken } from './tokens.ts'
import type {
  AppRegistration,
  AppSeed,
  CertificateCredential,
  CertificateSeed,
  ClientSecret,
  GroupMembershipClaims,
  MintAppTokenOptions,
  MintIdTokenOptions,
  MintUserAccessTokenOptions,
  OrgSeedEntry,
  ServicePrincipal,
  Tenant,
  User,
  UserSeed,
  WorldSeed,
} from './types.ts'
import type { OrgRecord, ResolvedResource, World, WorldSnapshot } from './world-api.ts'

// Microsoft Graph's root in each cloud (Learn: "Microsoft Graph national cloud deployments"). Its service principal
// exists in every tenant, so an app-only token for it is the usual check that a credential works in a tenant.
const GRAPH_AUDIENCES = [
  'https://graph.microsoft.com',
  'https://graph.microsoft.us',
  'https://dod-graph.microsoft.us',
  'https://microsoftgraph.chinacloudapi.cn',
]

export type { OrgRecord, ResolvedResource, World, WorldSnapshot } from './world-api.ts'

/** The {@link World} as the emulator keeps it (in memory; `startEmulator` persists its snapshot). */
export class WorldState implements World {
  readonly tenants = new Map<string, Tenant>()
  readonly apps = new Map<string, AppRegistration>()
  readonly users = new Map<string, User>()
  readonly orgs = new Map<string, OrgRecord>()
  /** Keyed `${tenantId}|${appId}`. */
  readonly servicePrincipals = new Map<string, ServicePrincipal>()
  /** `https://localhost:PORT` of the Entra ID server; set by `startEmulator` once it listens. */
  authorityUrl: string
  readonly signingKeys: SigningKeys
  readonly clock = createClock()
  #listeners = new Set<() => void>()

  constructor(signingKeys: SigningKeys, authorityUrl = 'https://localhost:8443') {
    this.signingKeys = signingKeys
    this.authorityUrl = authorityUrl
  }

  /** Subscribes to every change (for persistence); returns the unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** Tells listeners that the world changed (called by every mutation here; call it after editing records directly). */
  changed(): void {
    for (const l of this.#listeners) l()
  }

  // ---- lookups

  /** A tenant by id (case-insensitive GUID) or verified domain. */
  getTenant(idOrDomain: string): Tenant | undefined {
    const key = idOrDomain.toLowerCase()
    const byId = this.tenants.get(key)
    if (byId) return byId
    for (const t of this.tenants.values()) if (t.domain.toLowerCase() === key) return t
    return undefined
  }

  getApp(appId: string): AppRegistration | undefined {
    return this.apps.get(appId.toLowerCase())
  }

  getUser(objectId: string): User | undefined {
    return this.users.get(objectId.toLowerCase())
  }

  /** A user by user principal name (case-insensitive). */
  findUserByUpn(upn: string): User | undefined {
    const key = upn.toLowerCase()
    for (const u of this.users.values()) if (u.userPrincipalName.toLowerCase() === key) return u
    return undefined
  }

  usersOf(tenantId: string): User[] {
    return [...this.users.values()].filter((u) => u.tenantId === tenantId)
  }

  getOrg(id: string): OrgRecord | undefined {
    return this.orgs.get(id.toLowerCase())
  }

  /** The org served at `url` (trailing slash ignored, case-insensitive). */
  findOrgByUrl(url: string): OrgRecord | undefined {
    const key = trimSlash(url).toLowerCase()
    for (const o of this.orgs.values()) if (o.url && o.url.toLowerCase() === key) return o
    return undefined
  }

  orgsOf(tenantId: string): OrgRecord[] {
    return [...this.orgs.values()].filter((o) => o.tenantId === tenantId)
  }

  /** The app's service principal in `tenantId`; `undefined` means the app has no consent there. */
  getServicePrincipal(tenantId: string, appId: string): ServicePrincipal | undefined {
    return this.servicePrincipals.get(`${tenantId.toLowerCase()}|${appId.toLowerCase()}`)
  }

  // ---- mutations

  addTenant(input: { id?: string; displayName: string; domain?: string }): Tenant {
    const id = guidOrNew(input.id, 'Tenant id')
    if (this.tenants.has(id)) throw new EmulatorError('CONFLICT', `Tenant ${id} already exists.`)
    if (!input.displayName) throw new EmulatorError('INVALID_ARGUMENT', 'A tenant needs a displayName.')
    const domain = (
      input.domain ?? `${input.displayName.toLowerCase().replace(/[^a-z0-9]/g, '')}.onmicrosoft.com`
    ).toLowerCase()
    if (this.getTenant(domain))
      throw new EmulatorError('CONFLICT', `The domain ${domain} is already verified by another tenant.`)
    const tenant: Tenant = { id, displayName: input.displayName, domain }
    this.tenants.set(id, tenant)
    this.changed()
    return tenant
  }

  #requireTenant(tenantId: string): Tenant {
    const tenant = this.getTenant(tenantId)
    if (!tenant) throw new EmulatorError('NOT_FOUND', `Tenant '${tenantId}' does not exist; create it first.`)
    return tenant
  }

  /**
   * Registers an app in its home tenant and creates its service principal there. Generates requested certificates
   * (with `sharedKeys`, the seed's generated certificates are shared by the emulators of this process).
   */
  async addApp(input: AppSeed, options: { sharedKeys?: boolean } = {}): Promise<AppRegistration> {
    const home = this.#requireTenant(input.homeTenantId)
    const appId = guidOrNew(input.appId, 'appId')
    const requestedAccessTokenVersion = tokenVersionOf(input.requestedAccessTokenVersion, input.displayName)
    if (this.apps.has(appId))
      throw new EmulatorError('CONFLICT', `An app with appId ${appId} already exists.`)
    if (input.identifierUri !== undefined) {
      const uri = trimSlash(input.identifierUri).toLowerCase()
      if (!/^[a-z][a-z0-9+.-]*:\/\/?\S+$/.test(uri))
        throw new EmulatorError(
          'INVALID_ARGUMENT',
          `The identifierUri '${input.identifierUri}' is not a URI (e.g. api://<appId>).`,
        )
      for (const other of this.apps.values())
        if (other.identifierUri && trimSlash(other.identifierUri).toLowerCase() === uri)
          throw new EmulatorError(
            'CONFLICT',
            `The identifierUri ${input.identifierUri} is already used by app ${other.appId}.`,
          )
    }
    const secrets: ClientSecret[] = (input.secrets ?? []).map((s) =>
      typeof s === 'string' ? { id: randomUUID(), value: s } : { ...s },
    )
    const certificates = await Promise.all(
      (input.certificates ?? []).map((c, i) =>
        certificateOf(c, input.displayName, options.sharedKeys ? `${appId}#${i}` : undefined),
      ),
    )
    const app: AppRegistration = {
      appId,
      homeTenantId: home.id,
      displayName: input.displayName,
      signInAudience: input.signInAudience ?? 'AzureADMyOrg',
      secrets,
      certificates,
      redirectUris: { web: [...(input.redirectUris?.web ?? [])], spa: [...(input.redirectUris?.spa ?? [])] },
      exposedScopes: [...(input.exposedScopes ?? [])],
      requestedAccessTokenVersion,
      ...(input.identifierUri === undefined ? {} : { identifierUri: input.identifierUri }),
      ...(input.groupMembershipClaims === undefined
        ? {}
        : { groupMembershipClaims: groupMembershipClaimsOf(input.groupMembershipClaims, input.displayName) }),
    }
    this.apps.set(appId, app)
    this.grantConsent(home.id, appId)
    this.changed()
    return app
  }

  /** Adds a credential to an existing app (a new secret value, or a certificate). */
  async addCredential(
    appId: string,
    credential: { secret: string } | CertificateSeed,
  ): Promise<ClientSecret | CertificateCredential> {
    const app = this.getApp(appId)
    if (!app) throw new EmulatorError('NOT_FOUND', `App ${appId} does not exist.`)
    if ('secret' in credential) {
      const secret = { id: randomUUID(), value: credential.secret }
      app.secrets.push(secret)
      this.changed()
      return secret
    }
    const cert = await certificateOf(credential, app.displayName)
    app.certificates.push(cert)
    this.changed()
    return cert
  }

  /**
   * Changes the version of the access tokens issued for the app's own API from now on (what editing
   * `api.requestedAccessTokenVersion` in its manifest does): 1 or `null` for v1.0, 2 for v2.0.
   * @throws {EmulatorError} 'NOT_FOUND' (app), 'INVALID_ARGUMENT' (another value).
   */
  setRequestedAccessTokenVersion(appId: string, version: 1 | 2 | null): AppRegistration {
    const app = this.getApp(appId)
    if (!app) throw new EmulatorError('NOT_FOUND', `App ${appId} does not exist.`)
    app.requestedAccessTokenVersion = tokenVersionOf(version, app.displayName)
    this.changed()
    return app
  }

  /**
   * Changes the app's `groupMembershipClaims` (what editing the manifest, or "Token configuration > Add groups claim"
   * in the portal, does): `DirectoryRole` or `All` put the user's directory roles in `wids` from now on.
   * @throws {EmulatorError} 'NOT_FOUND' (app), 'INVALID_ARGUMENT' (another value).
   */
  setGroupMembershipClaims(appId: string, value: GroupMembershipClaims | null): AppRegistration {
    const app = this.getApp(appId)
    if (!app) throw new EmulatorError('NOT_FOUND', `App ${appId} does not exist.`)
    if (value === null) delete app.groupMembershipClaims
    else app.groupMembershipClaims = groupMembershipClaimsOf(value, app.displayName)
    this.changed()
    return app
  }

  /**
   * Sets the directory roles (template ids) a user holds, e.g. to make a user an Application Administrator.
   * @throws {EmulatorError} 'NOT_FOUND' (user), 'INVALID_ARGUMENT' (an id that is not a GUID).
   */
  setDirectoryRoles(userObjectId: string, roleTemplateIds: string[]): User {
    const user = this.getUser(userObjectId)
    if (!user) throw new EmulatorError('NOT_FOUND', `User ${userObjectId} does not exist.`)
    user.directoryRoles = directoryRolesOf(roleTemplateIds)
    this.changed()
    return user
  }

  /**
   * The `wids` claim of a token for `app` (the client for ID tokens, the resource app for access tokens to its API):
   * entra-docs access-token-claims-reference.md says `wids` holds the user's tenant-wide directory role template ids,
   * configured per app by the manifest's `groupMembershipClaims` set to `All` or `DirectoryRole`. Absent otherwise,
   * and when the user holds no role.
   */
  widsFor(user: User, app: AppRegistration | undefined): { wids?: string[] } {
    const asked = app?.groupMembershipClaims === 'All' || app?.groupMembershipClaims === 'DirectoryRole'
    if (!asked) return {}
    const roles = user.directoryRoles ?? (user.isTenantAdmin ? [GLOBAL_ADMINISTRATOR] : [])
    return roles.length > 0 ? { wids: [...roles] } : {}
  }

  addUser(input: UserSeed): User {
    const tenant = this.#requireTenant(input.tenantId)
    const objectId = guidOrNew(input.objectId, 'User objectId')
    if (this.users.has(objectId)) throw new EmulatorError('CONFLICT', `User ${objectId} already exists.`)
    if (!input.userPrincipalName?.includes('@'))
      throw new EmulatorError('INVALID_ARGUMENT', 'userPrincipalName must look like name@domain.')
    if (this.findUserByUpn(input.userPrincipalName))
      throw new EmulatorError('CONFLICT', `A user named ${input.userPrincipalName} already exists.`)
    const user: User = {
      objectId,
      tenantId: tenant.id,
      userPrincipalName: input.userPrincipalName,
      displayName: input.displayName ?? input.userPrincipalName.split('@')[0]!,
      isTenantAdmin: input.isTenantAdmin ?? false,
      ...(input.directoryRoles === undefined
        ? {}
        : { directoryRoles: directoryRolesOf(input.directoryRoles) }),
      ...(input.dataverseRoles === undefined ? {} : { dataverseRoles: [...input.dataverseRoles] }),
    }
    this.users.set(objectId, user)
    this.changed()
    return user
  }

  /** Declares an org. Its `url` stays empty until `startEmulator` serves it (or is given here). */
  addOrg(input: OrgSeedEntry & { url?: string }): OrgRecord {
    const tenant = this.#requireTenant(input.tenantId)
    const id = guidOrNew(input.id, 'Org id')
    if (this.orgs.has(id)) throw new EmulatorError('CONFLICT', `Org ${id} already exists.`)
    if (!/^[a-z0-9][a-z0-9-]{0,62}$/i.test(input.uniqueName ?? ''))
      throw new EmulatorError('INVALID_ARGUMENT', 'An org uniqueName must be letters, digits and dashes.')
    for (const o of this.orgs.values())
      if (o.uniqueName.toLowerCase() === input.uniqueName.toLowerCase())
        throw new EmulatorError('CONFLICT', `An org named ${input.uniqueName} already exists.`)
    const org: OrgRecord = {
      id,
      uniqueName: input.uniqueName,
      tenantId: tenant.id,
      displayName: input.displayName ?? input.uniqueName,
      url: input.url === undefined ? '' : trimSlash(input.url),
      ...(input.port === undefined ? {} : { port: input.port }),
      ...(input.dataverse === undefined ? {} : { dataverse: input.dataverse }),
    }
    this.orgs.set(id, org)
    this.changed()
    return org
  }

  /**
   * Admin consent: creates the app's service principal in `tenantId` (idempotent; returns the existing one).
   * A single-tenant app can only have a service principal in its home tenant.
   */
  grantConsent(tenantId: string, appId: string, objectId?: string): ServicePrincipal {
    const tenant = this.#requireTenant(tenantId)
    const app = this.getApp(appId)
    if (!app) throw new EmulatorError('NOT_FOUND', `App ${appId} does not exist.`)
    if (app.signInAudience === 'AzureADMyOrg' && app.homeTenantId !== tenant.id)
      throw new EmulatorError(
        'INVALID_ARGUMENT',
        `App ${app.appId} is single-tenant (AzureADMyOrg); only its home tenant can have its service principal.`,
      )
    const existing = this.getServicePrincipal(tenant.id, app.appId)
    if (existing) return existing
    const sp: ServicePrincipal = {
      objectId: guidOrNew(objectId, 'Service principal objectId'),
      appId: app.appId,
      tenantId: tenant.id,
      createdAt: new Date().toISOString(),
    }
    this.servicePrincipals.set(`${tenant.id}|${app.appId}`, sp)
    this.changed()
    return sp
  }

  /** Deletes the app's service principal in `tenantId` (what deleting the enterprise app does). Returns whether one existed. */
  revokeConsent(tenantId: string, appId: string): boolean {
    const tenant = this.getTenant(tenantId)
    if (!tenant) return false
    const removed = this.servicePrincipals.delete(`${tenant.id}|${appId.toLowerCase()}`)
    if (removed) this.changed()
    return removed
  }

  // ---- tokens

  v1Issuer(tenantId: string): string {
    return `${this.authorityUrl}/${tenantId}/`
  }

  v2Issuer(tenantId: string): string {
    return `${this.authorityUrl}/${tenantId}/v2.0`
  }

  /**
   * What a `resource` (v1) or scope prefix (v2) names: an org by URL (trailing slash and a `/.default` tail ignored),
   * a Global Discovery Service, Microsoft Graph, or an app's API by identifier URI or app id. `undefined` when nothing matches (AADSTS500011).
   */
  resolveResource(resource: string): ResolvedResource | undefined {
    const r = trimSlash(resource.replace(/\/\.default$/, ''))
    const org = this.findOrgByUrl(r)
    if (org) return { kind: 'org', org, audience: org.url }
    const disco = GLOBAL_DISCOVERY_AUDIENCES.find((a) => a === r.toLowerCase())
    if (disco) return { kind: 'discovery', audience: disco }
    const graph = GRAPH_AUDIENCES.find((a) => a === r.toLowerCase())
    if (graph) return { kind: 'graph', audience: graph }
    const lower = r.toLowerCase()
    for (const app of this.apps.values()) {
      if (app.appId === lower) return { kind: 'api', app, audience: app.appId, v1Audience: app.appId }
      if (app.identifierUri && trimSlash(app.identifierUri).toLowerCase() === lower)
        return { kind: 'api', app, audience: app.appId, v1Audience: app.identifierUri }
    }
    return undefined
  }

  /**
   * An app-only access token, as the client-credentials grant issues it: a v1 token for an org (`aud` = org URL,
   * `iss` = `{authorityUrl}/{tid}/`, `appid`, `appidacr`, `oid` = `sub` = the service principal, `idtyp: 'app'`), or a
   * token for an app's API in the version its `requestedAccessTokenVersion` asks for (v2 by default).
   * @throws {EmulatorError} 'NOT_FOUND' (tenant or app), 'NO_SERVICE_PRINCIPAL' (no consent in that tenant),
   * 'UNKNOWN_RESOURCE'.
   */
  mintAppToken(options: MintAppTokenOptions): Promise<string> {
    return mintAppToken(this, options)
  }

  /**
   * A delegated (user) access token: v1 for an org (`scp` 'user_impersonation', `upn`, `unique_name`); for an app's
   * own API, v2 (`scp` its exposed scopes, `azp`, `preferred_username`) or, when its `requestedAccessTokenVersion` is
   * 1, v1 (`aud` the identifier asked for, `appid`, `upn`, `unique_name`).
   * @throws {EmulatorError} 'NOT_FOUND' (user or app), 'UNKNOWN_RESOURCE'.
   */
  mintUserAccessToken(options: MintUserAccessTokenOptions): Promise<string> {
    return mintUserAccessToken(this, options)
  }

  /** A v2 ID token for `appId` (`aud`), with `nonce` when given. */
  mintIdToken(options: MintIdTokenOptions): Promise<string> {
    return mintIdToken(this, options)
  }

  /** Verifies a token the emulator issued (signature with any published key, `exp`, `nbf`). See {@link SigningKeys.verifyJwt}. */
  verifyJwt(token: string): Promise<JWTPayload> {
    return this.signingKeys.verifyJwt(token, { now: this.clock.now() })
  }

  // ---- persistence

  snapshot(): WorldSnapshot {
    return {
      version: 1,
      tenants: [...this.tenants.values()],
      apps: [...this.apps.values()],
      users: [...this.users.values()],
      servicePrincipals: [...this.servicePrincipals.values()],
      orgs: [...this.orgs.values()],
      signingKeys: this.signingKeys.snapshot(),
    }
  }

  /** Replaces this world's contents with a snapshot, in place (references to the world stay valid). */
  async restore(snapshot: WorldSnapshot): Promise<void> {
    if (snapshot?.version !== 1)
      throw new EmulatorError('STATE', 'The saved world has an unknown format version.')
    const copy = structuredClone(snapshot)
    await this.signingKeys.replace(copy.signingKeys)
    this.tenants.clear()
    this.apps.clear()
    this.users.clear()
    this.servicePrincipals.clear()
    this.orgs.clear()
    for (const t of copy.tenants) this.tenants.set(t.id, t)
    for (const a of copy.apps) this.apps.set(a.appId, a)
    for (const u of copy.users) this.users.set(u.objectId, u)
    for (const sp of copy.servicePrincipals) this.servicePrincipals.set(`${sp.tenantId}|${sp.appId}`, sp)
    for (const o of copy.orgs) this.orgs.set(o.id, o)
    this.changed()
  }

  /** Rebuilds a world from {@link World.snapshot}'s JSON. */
  static async fromSnapshot(snapshot: WorldSnapshot, authorityUrl?: string): Promise<WorldState> {
    if (snapshot?.version !== 1)
      throw new EmulatorError('STATE', 'The saved world has an unknown format version.')
    const world = new WorldState(await SigningKeyRing.create(snapshot.signingKeys), authorityUrl)
    await world.restore(snapshot)
    return world
  }
}

/**
 * Builds a world from a seed (tenants, then apps, users, consents, orgs).
 * @example
 * // A world without servers, e.g. to mint tokens in a unit test.
 * const world = await createWorld(defaultSeed())
 * const contoso = world.getTenant(defaultIds.contosoTenantId)
 */
export async function createWorld(seed: WorldSeed, options: { authorityUrl?: string } = {}): Promise<World> {
  const world = new WorldState(await SigningKeyRing.create(), options.authorityUrl)
  await applySeed(world, seed)
  return world
}

/** Adds everything a seed declares to `world`. */
export async function applySeed(world: World, seed: WorldSeed): Promise<void> {
  if (!seed || !Array.isArray(seed.tenants))
    throw new EmulatorError(
      'INVALID_ARGUMENT',
      'A seed needs a `tenants` array (and optionally apps, users, consents, orgs).',
    )
  for (const t of seed.tenants) world.addTenant(t)
  const apps = (seed.apps ?? []).map((a) => ({ ...a, appId: guidOrNew(a.appId, 'appId') }))
  // Generate the seed's certificates in parallel first (key generation is the slow part of a start).
  await Promise.all(
    apps.flatMap((a) =>
      (a.certificates ?? []).map((c, i) =>
        'generate' in c
          ? sharedSelfSignedCertificate(`${a.appId}#${i}`, c.subject ?? a.displayName)
          : undefined,
      ),
    ),
  )
  for (const a of apps) await world.addApp(a, { sharedKeys: true })
  for (const u of seed.users ?? []) world.addUser(u)
  for (const c of seed.consents ?? []) world.grantConsent(c.tenantId, c.appId, c.objectId)
  for (const o of seed.orgs ?? []) world.addOrg(o)
}
