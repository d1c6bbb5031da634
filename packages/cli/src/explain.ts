import { type CodegenErrorCode, isCodegenError } from '@dataverse-s2s/codegen'
import { type CoreErrorCode, isCoreError } from '@dataverse-s2s/core'
import { type DataverseErrorCode, isDataverseError } from '@dataverse-s2s/webapi'
import { type CliErrorCode, isCliError } from './errors.ts'

/** What the command line prints for a failure: one line of cause, one line of fix. */
export interface Explanation {
  /** The typed error code, e.g. `APP_NOT_FOUND_IN_TENANT`; `UNEXPECTED` for anything untyped. */
  code: string
  cause: string
  fix: string
}

const cliFixes: Record<CliErrorCode, string> = {
  USAGE: 'Run dataverse-s2s <command> --help for the options.',
  CONFIG:
    'Fix the config file (dataverse-s2s profiles shows the path), or set the DATAVERSE_* variables instead.',
  ACCESS_MISSING:
    'Apply the fixes listed above, e.g. dataverse-s2s provision --org <url> --role <role>, then check again.',
  TABLE_NOT_FOUND:
    "Pass the table's logical name (account, new_project), not its display name or entity set.",
  INPUT_INVALID:
    'Fix the row in the file (the message names it), then run the import again: rows already written are skipped.',
  OUTPUT_EXISTS: 'Choose another --out path, or pass --force to replace the file.',
  CHECKPOINT_INVALID:
    'Pass --restart to start over (or delete the files named above), then run the command again.',
  INTERRUPTED: 'Run the same command again to continue from the checkpoint.',
}

const coreFixes: Record<CoreErrorCode, string> = {
  INVALID_OPTIONS:
    'Set DATAVERSE_CLIENT_ID and DATAVERSE_CLIENT_SECRET (or DATAVERSE_CERTIFICATE_PATH), or pick a profile with --profile.',
  INVALID_CREDENTIAL:
    'Point DATAVERSE_CERTIFICATE_PATH (and DATAVERSE_PRIVATE_KEY_PATH) at the PEM files of a valid certificate.',
  INVALID_TENANT: 'Pass the tenant GUID or verified domain (dataverse-s2s discover --org <url> finds it).',
  INVALID_RESOURCE: 'Pass the org URL, e.g. https://contoso.crm.dynamics.com.',
  APP_NOT_FOUND_IN_TENANT:
    'Have an administrator of that tenant open the URL of dataverse-s2s consent-url --org <url>, or fix DATAVERSE_TENANT_ID.',
  INVALID_CLIENT_SECRET:
    "Set DATAVERSE_CLIENT_SECRET to the secret's Value (not its ID) from the app registration; rotate it if it expired.",
  INVALID_CLIENT_ASSERTION:
    "Upload the certificate to the app registration, or check the federated credential's issuer and subject.",
  RESOURCE_NOT_FOUND:
    'Check the org URL and that it belongs to the tenant (dataverse-s2s discover --org <url>).',
  TENANT_NOT_FOUND:
    'Check the tenant id and the cloud (--cloud, --authority-host); dataverse-s2s discover --org <url> finds both.',
  CONSENT_REQUIRED:
    'Have an administrator grant consent: dataverse-s2s consent-url --org <url> prints the link.',
  INVALID_SCOPE: 'Pass the org URL itself as --org/--resource (https://{org}.crm.dynamics.com).',
  UNAUTHORIZED_CLIENT:
    "Enable the app in the tenant's Enterprise applications and check Conditional Access policies.",
  THROTTLED: 'Wait a minute and run the command again.',
  NETWORK:
    'Check the network, the proxy and the authority host (--authority-host / --cloud); trust a private CA with --ca.',
  TIMEOUT: 'Run the command again; check the network if it keeps timing out.',
  MANAGED_IDENTITY_UNAVAILABLE: 'Use a secret or certificate from the environment outside Azure.',
  TOKEN_REQUEST_FAILED:
    'Run with the same settings in a token-only command (dataverse-s2s token) and check the app registration.',
  DEVICE_CODE_EXPIRED:
    'Run the command again and enter the new code on the verification page within 15 minutes.',
  DEVICE_CODE_DECLINED:
    'Run the command again and choose Accept on the verification page, as an admin of the org.',
  INVALID_ORG_URL:
    'Pass an https org URL (https://contoso.crm.dynamics.com); for another cloud add --cloud or --authority-host.',
  DISCOVERY_FAILED:
    'Check the org URL; or skip discovery with DATAVERSE_TENANT_ID and --cloud/--authority-host.',
  UNTRUSTED_AUTHORITY: 'Name the cloud with --cloud, or the authority with --authority-host if you trust it.',
  INVALID_STATE: 'Start the consent again from a fresh URL.',
  STATE_EXPIRED: 'Start the consent again from a fresh URL.',
  STATE_SESSION_MISMATCH: 'Finish the consent in the same browser session that started it.',
  STATE_REUSED: 'Start the consent again from a fresh URL.',
  CONSENT_DENIED: 'Ask a tenant administrator to accept the consent.',
  CONSENT_FAILED: "Open the consent URL again; check the app registration's redirect URI.",
  INVALID_CALLBACK: "Open the consent URL again; check the app registration's redirect URI.",
  MALFORMED_TOKEN: 'Pass a complete JWT.',
  UNSUPPORTED_ALGORITHM: 'Use a token signed with RS256.',
  INVALID_SIGNATURE: "Use a token issued by the tenant's authority.",
  UNKNOWN_KEY: "Use a token issued by the tenant's authority; keys may have rolled over.",
  TOKEN_EXPIRED: 'Get a new token.',
  TOKEN_NOT_YET_VALID: "Check the machine's clock.",
  TOKEN_TOO_OLD: 'Sign in again: the token is older than the API accepts.',
  WRONG_TOKEN_TYPE:
    'Send the kind of token the API expects (a user access token for the API, not an ID or app-only token).',
  INVALID_AUDIENCE: 'Ask for a token for the right resource.',
  INVALID_ISSUER: 'Ask for a token from the right tenant.',
  UNSUPPORTED_TOKEN_VERSION: "Set the API's requested access token version.",
  TENANT_NOT_ALLOWED: 'Add the tenant to the allowed tenants.',
  INSUFFICIENT_SCOPE: 'Ask for the scope the API requires.',
  JWKS_UNAVAILABLE: "Check the network to the tenant's authority.",
  UNAUTHORIZED:
    'Sign in again: the Global Discovery Service takes a delegated user token for its own audience, not an app-only token.',
  NO_DISCOVERY_SERVICE: 'Name the discovery service of your cloud (globalDiscoveryUrl in a custom cloud).',
}

const dataverseFixes: Record<DataverseErrorCode, string> = {
  BAD_REQUEST: "Check the query options (column names, filter syntax) against the table's columns.",
  UNAUTHORIZED:
    'Check that the org belongs to the tenant and that the app has consent (dataverse-s2s check --org <url>).',
  FORBIDDEN: 'Run dataverse-s2s check --org <url> to see which application user or privilege is missing.',
  NOT_FOUND: 'Check the table, entity set or row id.',
  PRECONDITION_FAILED: 'The row changed meanwhile: read it again and retry.',
  THROTTLED:
    'Wait for the service protection window (a few minutes) and run again; lower --chunk-size or --page-size.',
  SERVER: 'Run the command again later; quote the request id above to Microsoft support if it persists.',
  HTTP: 'Check the org URL (--org) and the Web API version.',
  NETWORK: 'Check the network and the org URL; trust a private CA with --ca.',
  TIMEOUT: 'Run again; lower --page-size or --chunk-size if requests are slow.',
  ABORTED: 'Run the same command again to continue.',
  TOKEN: 'Run dataverse-s2s token --org <url> to see why no token was issued.',
  INVALID_ARGUMENT: 'Fix the option or the row named above.',
  INVALID_RESPONSE: 'Check that --org points at a Dataverse org, not a proxy or web page.',
  BATCH_ROLLED_BACK: 'Fix the failed operation of the change set and send it again.',
  BATCH_NOT_EXECUTED: 'Fix the failed operation before it and send the batch again.',
  CHANGE_TRACKING_DISABLED:
    'Enable change tracking on the table (table properties in make.powerapps.com), or read it with a plain query.',
  CHANGE_TOKEN_EXPIRED:
    'Sync the table again from the start (no token): the saved token is older than the org keeps changes.',
  BULK_INCOMPLETE:
    'Run the same import again: it continues after the rows already written (the checkpoint says which).',
}

const codegenFixes: Record<CodegenErrorCode, string> = {
  INVALID_XML: 'Check that --org answers $metadata with CSDL XML.',
  INVALID_CSDL: 'Check that --org answers $metadata with CSDL XML.',
  UNKNOWN_TABLE: "Pass the table's logical name (account, new_project).",
  NO_TABLES: "Pass the table's logical name (account, new_project).",
  NAME_CONFLICT: "Pass the table's logical name (account, new_project).",
  INVALID_OPTIONS: "Pass the table's logical name (account, new_project).",
  FETCH_FAILED: 'Check that --org answers $metadata with CSDL XML.',
}

function firstLine(text: string): string {
  return text.split(/\r?\n/)[0]?.trim() ?? ''
}

/** The cause and fix lines for any error the command line may meet. */
export function explain(err: unknown): Explanation {
  if (isCliError(err)) return { code: err.code, cause: firstLine(err.message), fix: cliFixes[err.code] }
  if (isCoreError(err)) return { code: err.code, cause: firstLine(err.message), fix: coreFixes[err.code] }
  // the token provider's own error says why no token came (wrong secret, no consent): explain that one
  if (isDataverseError(err) && err.code === 'TOKEN' && isCoreError(err.cause)) return explain(err.cause)
  if (isDataverseError(err)) {
    const rid = err.requestId ? ` (request id ${err.requestId})` : ''
    return { code: err.code, cause: `${firstLine(err.message)}${rid}`, fix: dataverseFixes[err.code] }
  }
  if (isCodegenError(err))
    return { code: err.code, cause: firstLine(err.message), fix: codegenFixes[err.code] }
  const message = err instanceof Error ? err.message : String(err)
  return {
    code: 'UNEXPECTED',
    cause: firstLine(message) || 'An unexpected error occurred.',
    fix: 'Run again; if it persists, report it with the command you ran (without secrets).',
  }
}

/** Every code that has a fix, by family (for the test that each prints two lines). */
export const explainedCodes = {
  cli: Object.keys(cliFixes) as CliErrorCode[],
  core: Object.keys(coreFixes) as CoreErrorCode[],
  dataverse: Object.keys(dataverseFixes) as DataverseErrorCode[],
  codegen: Object.keys(codegenFixes) as CodegenErrorCode[],
}
