export type { EmulatorAdmin, EmulatorClockState } from './admin/admin.ts'
export type { EmulatorClock } from './clock.ts'
export type {
  ColumnSeed,
  ColumnType,
  LookupTargetSeed,
  OptionSeed,
  OptionSetSeed,
  OrgData,
  OrgRuntime,
  OrgSeed,
  RoleSeed,
  ServiceProtectionLimits,
  SystemUserSeed,
  TableSeed,
} from './dataverse/index.ts'
export type { FederatedIdentityCredential, ManagedIdentity } from './entra/managed-identity.ts'
export type { EmulatorErrorCode } from './errors.ts'
export { EmulatorError } from './errors.ts'
export type {
  CounterSnapshot,
  DataverseRequestCount,
  FaultKind,
  FaultRule,
  InstalledFault,
  TokenRequestCount,
} from './faults.ts'
export { runEmulatorMain } from './run-cli.ts'
export type { EmulatorHandle, EmulatorInfo, EmulatorTrust, StartEmulatorOptions } from './start.ts'
export { startEmulator } from './start.ts'
export type { TlsMaterial } from './tls.ts'
export { createTrustingAgent, trustEmulatorGlobally } from './tls.ts'
export type { TrustReport, TrustStoreOptions } from './trust-store.ts'
export { isEmulatorCaTrusted, trustEmulatorCa, untrustEmulatorCa } from './trust-store.ts'
export { defaultIds, defaultSeed, sampleRedirectUris } from './world/default-seed.ts'
export type { PublishedJwk, SigningKeyData, SigningKeys } from './world/signing-keys.ts'
export type {
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
  WorldSeed,
} from './world/types.ts'
export type { OrgRecord, ResolvedResource, World, WorldSnapshot } from './world/world.ts'
export { createWorld } from './world/world.ts'
