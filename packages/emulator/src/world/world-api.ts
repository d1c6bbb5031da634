import type { JWTPayload } from 'jose'
import type { EmulatorClock } from '../clock.ts'
import type { SigningKeyData, SigningKeys } from './signing-keys.ts'
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
  OrgInfo,
  OrgSeedEntry,
  ServicePrincipal,
  Tenant,
  User,
  UserSeed,
} from './types.ts'

/** An org as stored in the world: `OrgInfo` plus the port and Dataverse seed it was declared with. */
export interface OrgRecord extends OrgInfo {
  port?: number
  dataverse?: unknown
}

/** The JSON the world persists to its state folder. */
export interface WorldSnapshot {
  version: 1
  tenants: Tenant[]
  apps: AppRegistration[]
  users: User[]
  servicePrincipals: ServicePrincipal[]
  orgs: OrgRecord[]
  signingKeys: SigningKeyData[]
}

/**
 * A resource a token can be issued for: a Dataverse org, or an app registration's own API. For an API, `audience` is
 * the v2.0 `aud` (always the app id) and `v1Audience` the v1.0 one (the identifier the client asked for).
 */
export type ResolvedResource =
  | { kind: 'org'; org: OrgRecord; audience: string }
  | { kind: 'api'; app: AppRegistration; audience: string; v1Audience: string }
  /** The Global Discovery Service of a cloud (`https://globaldisco.crm.dynamics.com` and the sovereign ones). */
  | { kind: 'discovery'; audience: string }
  /** Microsoft Graph (`https://graph.microsoft.com` and the national clouds' roots): app-only tokens exist in every tenant. */
  | { kind: 'graph'; audience: string }

/**
 * The identity world of the emulated Entra ID: tenants, app registrations, service principals (consent),
 * users, orgs, and the token signing keys. Both the Entra ID endpoints and the Dataverse orgs read it; a test holds it
 * as `EmulatorHandle.world` or from {@link createWorld}.
 */
export interface World {
  readonly tenants: Map<string, Tenant>
  readonly apps: Map<string, AppRegistration>
  readonly users: Map<string, User>
  readonly orgs: Map<string, OrgRecord>
  /** Keyed `${tenantId}|${appId}`. */
  readonly servicePrincipals: Map<string, ServicePrincipal>
  /** `https://localhost:PORT` of the Entra ID server; set by `startEmulator` once it listens. */
  authorityUrl: string
  readonly signingKeys: SigningKeys
  /** The emulator's clock (see `EmulatorAdmin.advanceClock`). */
  readonly clock: EmulatorClock
  /** Subscribes to every change (for persistence); returns the unsubscribe function. */
  onChange(listener: () => void): () => void
  /** Tells listeners that the world changed (called by every mutation here; call it after editing records directly). */
  changed(): void
  /** A tenant by id (case-insensitive GUID) or verified domain. */
  getTenant(idOrDomain: string): Tenant | undefined
  getApp(appId: string): AppRegistration | undefined
  getUser(objectId: string): User | undefined
  /** A user by user principal name (case-insensitive). */
  findUserByUpn(upn: string): User | undefined
  usersOf(tenantId: string): User[]
  getOrg(id: string): OrgRecord | undefined
  /** The org served at `url` (trailing slash ignored, case-insensitive). */
  findOrgByUrl(url: string): OrgRecord | undefined
  orgsOf(tenantId: string): OrgRecord[]
  /** The app's service principal in `tenantId`; `undefined` means the app has no consent there. */
  getServicePrincipal(tenantId: string, appId: string): ServicePrincipal | undefined
  addTenant(input: { id?: string; displayName: string; domain?: string }): Tenant
  /**
   * Registers an app in its home tenant and creates its service principal there. Generates requested certificates
   * (with `sharedKeys`, the seed's generated certificates are shared by the emulators of this process).
   */
  addApp(
    input: AppSeed,
    options?: {
      sharedKeys?: boolean
    },
  ): Promise<AppRegistration>
  /** Adds a credential to an existing app (a new secret value, or a certificate). */
  addCredential(
    appId: string,
    credential:
      | {
          secret: string
        }
      | CertificateSeed,
  ): Promise<ClientSecret | CertificateCredential>
  /**
   * Changes the version of the access tokens issued for the app's own API from now on (what editing
   * `api.requestedAccessTokenVersion` in its manifest does): 1 or `null` for v1.0, 2 for v2.0.
   * @throws {EmulatorError} 'NOT_FOUND' (app), 'INVALID_ARGUMENT' (another value).
   */
  setRequestedAccessTokenVersion(appId: string, version: 1 | 2 | null): AppRegistration
  /**
   * Changes the app's `groupMembershipClaims` (what editing the manifest, or "Token configuration > Add groups claim"
   * in the portal, does): `DirectoryRole` or `All` put the user's directory roles in `wids` from now on.
   * @throws {EmulatorError} 'NOT_FOUND' (app), 'INVALID_ARGUMENT' (another value).
   */
  setGroupMembershipClaims(appId: string, value: GroupMembershipClaims | null): AppRegistration
  /**
   * Sets the directory roles (template ids) a user holds, e.g. to make a user an Application Administrator.
   * @throws {EmulatorError} 'NOT_FOUND' (user), 'INVALID_ARGUMENT' (an id that is not a GUID).
   */
  setDirectoryRoles(userObjectId: string, roleTemplateIds: string[]): User
  /**
   * The `wids` claim of a token for `app` (the client for ID tokens, the resource app for access tokens to its API):
   * entra-docs access-token-claims-reference.md says `wids` holds the user's tenant-wide directory role template ids,
   * configured per app by the manifest's `groupMembershipClaims` set to `All` or `DirectoryRole`. Absent otherwise,
   * and when the user holds no role.
   */
  widsFor(
    user: User,
    app: AppRegistration | undefined,
  ): {
    wids?: string[]
  }
  addUser(input: UserSeed): User
  /** Declares an org. Its `url` stays empty until `startEmulator` serves it (or is given here). */
  addOrg(
    input: OrgSeedEntry & {
      url?: string
    },
  ): OrgRecord
  /**
   * Admin consent: creates the app's service principal in `tenantId` (idempotent; returns the existing one).
   * A single-tenant app can only have a service principal in its home tenant.
   */
  grantConsent(tenantId: string, appId: string, objectId?: string): ServicePrincipal
  /** Deletes the app's service principal in `tenantId` (what deleting the enterprise app does). Returns whether one existed. */
  revokeConsent(tenantId: string, appId: string): boolean
  v1Issuer(tenantId: string): string
  v2Issuer(tenantId: string): string
  /**
   * What a `resource` (v1) or scope prefix (v2) names: an org by URL (trailing slash and a `/.default` tail ignored),
   * a Global Discovery Service, Microsoft Graph, or an app's API by identifier URI or app id. `undefined` when nothing matches (AADSTS500011).
   */
  resolveResource(resource: string): ResolvedResource | undefined
  /**
   * An app-only access token, as the client-credentials grant issues it: a v1 token for an org (`aud` = org URL,
   * `iss` = `{authorityUrl}/{tid}/`, `appid`, `appidacr`, `oid` = `sub` = the service principal, `idtyp: 'app'`), or a
   * token for an app's API in the version its `requestedAccessTokenVersion` asks for (v2 by default).
   * @throws {EmulatorError} 'NOT_FOUND' (tenant or app), 'NO_SERVICE_PRINCIPAL' (no consent in that tenant),
   * 'UNKNOWN_RESOURCE'.
   */
  mintAppToken(options: MintAppTokenOptions): Promise<string>
  /**
   * A delegated (user) access token: v1 for an org (`scp` 'user_impersonation', `upn`, `unique_name`); for an app's
   * own API, v2 (`scp` its exposed scopes, `azp`, `preferred_username`) or, when its `requestedAccessTokenVersion` is
   * 1, v1 (`aud` the identifier asked for, `appid`, `upn`, `unique_name`).
   * @throws {EmulatorError} 'NOT_FOUND' (user or app), 'UNKNOWN_RESOURCE'.
   */
  mintUserAccessToken(options: MintUserAccessTokenOptions): Promise<string>
  /** A v2 ID token for `appId` (`aud`), with `nonce` when given. */
  mintIdToken(options: MintIdTokenOptions): Promise<string>
  /** Verifies a token the emulator issued (signature with any published key, `exp`, `nbf`). See {@link SigningKeys.verifyJwt}. */
  verifyJwt(token: string): Promise<JWTPayload>
  snapshot(): WorldSnapshot
  /** Replaces this world's contents with a snapshot, in place (references to the world stay valid). */
  restore(snapshot: WorldSnapshot): Promise<void>
}
