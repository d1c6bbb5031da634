import type { OrgSeed } from './dataverse-seed.ts'

/** An Entra ID directory (tenant). */
export interface Tenant {
  /** Tenant id (GUID), the `tid` claim. */
  id: string
  displayName: string
  /** The initial verified domain, e.g. `contoso.onmicrosoft.com`; accepted wherever a tenant id is. */
  domain: string
}

/** A client secret of an app registration. */
export interface ClientSecret {
  id: string
  value: string
  /** ISO date; an expired secret is refused with AADSTS7000222. */
  expiresAt?: string
}

/** A certificate credential of an app registration (its public part, plus the private key when the emulator made it). */
export interface CertificateCredential {
  /** Base64url SHA-1 thumbprint of the DER certificate (the `x5t` header of an RS256 client assertion). */
  thumbprintSha1: string
  /** Base64url SHA-256 thumbprint of the DER certificate (the `x5t#S256` header of a PS256 client assertion). */
  thumbprintSha256: string
  /** Hex SHA-1 thumbprint, as the Azure portal shows it and as MSAL's `thumbprint` option takes it. */
  thumbprintSha1Hex: string
  /** Hex SHA-256 thumbprint, as MSAL's `thumbprintSha256` option takes it. */
  thumbprintSha256Hex: string
  certificatePem: string
  /** PKCS#8 PEM private key; present for credentials the emulator generated, so tests and samples can sign. */
  privateKeyPem?: string
}

/** An application object in its home tenant. */
export interface AppRegistration {
  /** The client id (GUID). */
  appId: string
  homeTenantId: string
  displayName: string
  signInAudience: 'AzureADMyOrg' | 'AzureADMultipleOrgs'
  secrets: ClientSecret[]
  certificates: CertificateCredential[]
  /** Registered redirect URIs by platform: `web` (confidential, server side) and `spa` (public, browser, CORS redemption). */
  redirectUris: { web: string[]; spa: string[] }
  /** App ID URI of the API the app exposes, e.g. `api://<appId>`. */
  identifierUri?: string
  /** Delegated scopes the app's own API exposes, e.g. `access_as_user`. */
  exposedScopes: string[]
  /**
   * Version of the access tokens issued for this app's own API: the manifest's `api.requestedAccessTokenVersion`
   * (`accessTokenAcceptedVersion` in the old manifest). 1 gives v1.0 tokens (`iss` `{emulator}/{tid}/`, `aud` the
   * identifier the client asked for, `appid`, `upn`), 2 gives v2.0 tokens. Absent means 2 (see {@link AppSeed}).
   */
  requestedAccessTokenVersion?: 1 | 2
  /**
   * The manifest's `groupMembershipClaims`: `DirectoryRole` or `All` make tokens for this app (ID tokens it gets as a
   * client, access tokens for its own API) carry the user's directory roles in `wids`. Absent or `None`: no `wids`.
   */
  groupMembershipClaims?: GroupMembershipClaims
}

/** Values of the manifest's `groupMembershipClaims`; only `DirectoryRole` and `All` emit `wids` in the emulator. */
export type GroupMembershipClaims = 'None' | 'SecurityGroup' | 'DirectoryRole' | 'ApplicationGroup' | 'All'

/** The per-tenant instance of an app: exists in its home tenant and in every tenant that consented. */
export interface ServicePrincipal {
  /** Object id in that tenant: the `oid` (and `sub`) of the app's app-only tokens there. */
  objectId: string
  appId: string
  tenantId: string
  createdAt: string
}

/** A user account in a tenant. */
export interface User {
  /** Entra object id: the `oid` claim, and `systemuser.azureactivedirectoryobjectid` in Dataverse. */
  objectId: string
  tenantId: string
  userPrincipalName: string
  displayName: string
  /** An administrator who may grant tenant-wide admin consent (a Global Administrator unless `directoryRoles` says otherwise). */
  isTenantAdmin: boolean
  /**
   * Template ids of the Entra directory roles the user holds (the `wids` claim when the app asks for it). Absent:
   * Global Administrator for a tenant admin, none for others.
   */
  directoryRoles?: string[]
  /**
   * Dataverse security role names this user holds in every org of its tenant. A hint for the default Dataverse
   * seed (`undefined` = the org decides; `[]` = a user without privileges).
   */
  dataverseRoles?: string[]
}

/** A Dataverse organization (environment) served at the root of its own origin. */
export interface OrgInfo {
  /** Organization id (GUID). */
  id: string
  uniqueName: string
  tenantId: string
  displayName: string
  /** The org URL: `https://localhost:PORT`, no trailing slash. Also the token audience and the `{url}/.default` scope. */
  url: string
}

/** One Dataverse org in a seed. `dataverse` is the Dataverse side's own seed (business units, roles, users, tables, rows). */
export interface OrgSeedEntry {
  id?: string
  uniqueName: string
  tenantId: string
  displayName?: string
  /** Fixed port for the org's origin; 0 or absent picks one (from the emulator's base port + 1 up, or random when the emulator's port is 0). */
  port?: number
  /** The org's Dataverse seed: business units, roles, system users, custom tables, rows, sample data, limits. */
  dataverse?: OrgSeed
}

/** A certificate credential in a seed: either PEMs, or `generate: true` to have the emulator create a key pair. */
export type CertificateSeed =
  | { certificatePem: string; privateKeyPem?: string }
  | { generate: true; subject?: string }

/** An app registration in a seed. Missing ids are generated. */
export interface AppSeed {
  appId?: string
  homeTenantId: string
  displayName: string
  signInAudience?: AppRegistration['signInAudience']
  secrets?: (string | ClientSecret)[]
  certificates?: CertificateSeed[]
  redirectUris?: { web?: string[]; spa?: string[] }
  identifierUri?: string
  exposedScopes?: string[]
  /** The manifest's `groupMembershipClaims` (`DirectoryRole` or `All` for `wids`); default none. */
  groupMembershipClaims?: GroupMembershipClaims
  /**
   * The manifest's `api.requestedAccessTokenVersion`: `2` (the emulator's default when absent) gives v2.0 access
   * tokens for this app's API; `1` or `null` (as in Entra, where `null` is the default of new registrations) v1.0 ones.
   */
  requestedAccessTokenVersion?: 1 | 2 | null
}

/** A user in a seed. */
export interface UserSeed {
  objectId?: string
  tenantId: string
  userPrincipalName: string
  displayName?: string
  isTenantAdmin?: boolean
  /** Directory role template ids (see {@link User.directoryRoles}); default Global Administrator for a tenant admin. */
  directoryRoles?: string[]
  dataverseRoles?: string[]
}

/** A whole world in one JSON document (the `--seed` file). */
export interface WorldSeed {
  /** Tenants; a missing `id` is generated, a missing `domain` is `<displayname>.onmicrosoft.com`. */
  tenants: { id?: string; displayName: string; domain?: string }[]
  apps?: AppSeed[]
  users?: UserSeed[]
  /** Tenants that consented to an app (a service principal is created there). `objectId` fixes the SP's id. */
  consents?: { tenantId: string; appId: string; objectId?: string }[]
  orgs?: OrgSeedEntry[]
}

/** Arguments of {@link World.mintAppToken}. */
export interface MintAppTokenOptions {
  tenantId: string
  appId: string
  /** The resource: an org URL (v1 token), or an app's identifier URI / app id (its API's token version). */
  resource: string
  /** 1 = client secret, 2 = certificate (the `appidacr` claim). Default 1. */
  credentialType?: 1 | 2
  /** Default 3599 seconds. */
  lifetimeSeconds?: number
}

/** Arguments of {@link World.mintUserAccessToken}. */
export interface MintUserAccessTokenOptions {
  /** The user; its tenant is the token's tenant. */
  userObjectId: string
  /** The client the token is issued to (`appid` / `azp`). */
  appId: string
  /**
   * An org URL (v1 token, `scp` 'user_impersonation'), or an app's identifier URI or app id (a token for that API, in
   * the version its `requestedAccessTokenVersion` asks for).
   */
  resource: string
  /** Space-separated scope names without the resource prefix; default 'user_impersonation' for orgs, the API's exposed scopes otherwise. */
  scp?: string
  /** 0 = public client, 1 = secret, 2 = certificate. Default 0. */
  credentialType?: 0 | 1 | 2
  lifetimeSeconds?: number
}

/** Arguments of {@link World.mintIdToken}. */
export interface MintIdTokenOptions {
  userObjectId: string
  appId: string
  nonce?: string
  lifetimeSeconds?: number
  /** Unix seconds of the sign-in (`auth_time`), default now. */
  authTime?: number
}
