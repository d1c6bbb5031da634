export type { Cloud, CloudInput, CustomCloudOptions } from './clouds.ts'
export {
  chinaCloud,
  cloudFromOrgUrl,
  clouds,
  defineCloud,
  dodCloud,
  gccCloud,
  gccHighCloud,
  isOrgUrlOfCloud,
  isTrustedLoginHost,
  publicCloud,
  resolveCloud,
} from './clouds.ts'
export type {
  AdminConsentResult,
  AdminConsentUrlOptions,
  ConsentStateData,
  ConsentStateManager,
  ConsentStateOptions,
  ConsentStateStore,
} from './consent.ts'
export {
  buildAdminConsentUrl,
  createConsentStateManager,
  createMemoryStateStore,
  parseAdminConsentRedirect,
} from './consent.ts'
export type {
  AssertionContext,
  AssertionCredential,
  CertificateCredential,
  Credential,
  ManagedIdentityCredential,
  ManagedIdentityFederationCredential,
  PreparedCertificate,
  SecretCredential,
} from './credentials.ts'
export {
  clientAssertion,
  clientCertificate,
  clientSecret,
  managedIdentity,
  managedIdentityFederation,
  prepareCertificate,
  tokenExchangeAudience,
} from './credentials.ts'
export type { DeviceCodeOptions, DeviceCodePrompt, DeviceCodeResult } from './device-code.ts'
export { acquireTokenByDeviceCode } from './device-code.ts'
export type { DiscoveredTenant, DiscoverTenantOptions, TenantDiscovery } from './discovery.ts'
export { createTenantDiscovery, discoverTenant, parseBearerChallenge } from './discovery.ts'
export type { EnvCredentials } from './env.ts'
export { credentialsFromEnv } from './env.ts'
export type {
  ConsentErrorCode,
  CoreErrorCode,
  DiscoveryErrorCode,
  TokenErrorCode,
  TokenErrorDetails,
  VerificationErrorCode,
} from './errors.ts'
export {
  ConsentError,
  CoreError,
  DiscoveryError,
  isCoreError,
  TokenError,
  VerificationError,
} from './errors.ts'
export type { HttpOptions } from './http-options.ts'
export type { LogFields, Logger } from './logger.ts'
export { createMsalNetworkClient } from './msal-network-client.ts'
export type { DiscoveredOrganization, DiscoverOrganizationsOptions } from './organizations.ts'
export { discoverOrganizations, discoveryScope } from './organizations.ts'
export type {
  InstrumentOptions,
  MeterLike,
  SpanLike,
  TelemetryAttributes,
  TelemetryAttributeValue,
  TelemetryOptions,
  TracerLike,
} from './telemetry.ts'
export type {
  AccessToken,
  CachedToken,
  RefreshOptions,
  SecondLevelCache,
  TokenCacheStats,
} from './token-cache.ts'
export { createMemoryTokenStore } from './token-cache.ts'
export type { TokenProvider, TokenProviderOptions, TokenRequest } from './token-provider.ts'
export { createTokenProvider } from './token-provider.ts'
export type { UserTokenVerifier, UserTokenVerifierOptions, VerifiedUser } from './verifier.ts'
export { createUserTokenVerifier } from './verifier.ts'
