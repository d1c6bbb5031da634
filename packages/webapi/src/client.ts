import { createTransport } from '#transport'
import { createBatch } from './batch.ts'
import { runBulk } from './bulk.ts'
import { changeMethods } from './changes.ts'
import type { DataverseClient } from './client-types.ts'
import { createDefinitionsCache, type DefinitionsCache, definitionsOf } from './definitions.ts'
import { DataverseError } from './errors.ts'
import { fetchXmlMethods } from './fetchxml-queries.ts'
import { fileMethods } from './files.ts'
import { type ClientCore, impersonationHeaders, scopeOf } from './internal/core.ts'
import { Deadlines } from './internal/deadlines.ts'
import { type PipelineConfig, type ResolvedRetry, realSleep, send } from './internal/pipeline.ts'
import { resolveGate } from './internal/shared-governor.ts'
import { createTelemetry } from './internal/telemetry.ts'
import { operationMethods } from './operations.ts'
import { queryMethods } from './queries.ts'
import { recordMethods } from './records.ts'
import { searchMethods } from './search.ts'
import type { ClientClock, DataverseClientOptions, Impersonation, RetryOptions } from './types.ts'

const DEFAULT_RETRY: ResolvedRetry = {
  enabled: true,
  maxAttempts: 10,
  budgetMs: 120_000,
  baseDelayMs: 250,
  maxDelayMs: 15_000,
  retryCreates: false,
}

function resolveRetry(retry: RetryOptions | false | undefined): ResolvedRetry {
  if (retry === false) return { ...DEFAULT_RETRY, enabled: false }
  const resolved = { ...DEFAULT_RETRY }
  for (const [k, v] of Object.entries(retry ?? {})) if (v !== undefined) Object.assign(resolved, { [k]: v })
  return resolved
}

function normaliseUrl(url: string): URL {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch (cause) {
    throw new DataverseError(
      'INVALID_ARGUMENT',
      'url must be an absolute org URL like https://contoso.crm.dynamics.com.',
      {
        cause,
      },
    )
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new DataverseError('INVALID_ARGUMENT', 'url must use https.')
  }
  return parsed
}

/**
 * Creates a client for one Dataverse org. Cheap: create one per org (and per tenant); instances share nothing
 * but pooled connections.
 * @param options.url org URL
 * @param options.getToken `(resource, { forceRefresh }) => token`, e.g. from `@dataverse-s2s/core`
 * @param options.apiVersion default `'9.2'`
 * @param options.timeoutMs per attempt, default 120,000
 * @param options.retry default `{ maxAttempts: 10, budgetMs: 120_000, baseDelayMs: 250, maxDelayMs: 15_000 }`
 * @param options.concurrency default adaptive, from 8 (then `x-ms-dop-hint`) up to 52
 * @throws {DataverseError} `INVALID_ARGUMENT` when `url` is not an absolute http(s) URL.
 * @example
 * const client = createDataverseClient({
 *   url: 'https://contoso.crm.dynamics.com',
 *   getToken: (resource) => tokens.getToken({ tenantId, resource }), // from @dataverse-s2s/core
 * })
 * const id = await client.create('accounts', { name: 'Fourth Coffee' })
 * for await (const row of client.queryAll('accounts', { select: ['name'] })) console.log(row.name)
 */
export function createDataverseClient(options: DataverseClientOptions): DataverseClient {
  if (typeof options.getToken !== 'function') {
    throw new DataverseError('INVALID_ARGUMENT', 'getToken must be a function returning a bearer token.')
  }
  const parsed = normaliseUrl(options.url)
  const apiVersion = (options.apiVersion ?? '9.2').replace(/^v/, '')
  if (!/^\d+\.\d+$/.test(apiVersion)) {
    throw new DataverseError(
      'INVALID_ARGUMENT',
      `apiVersion must look like '9.2', got ${JSON.stringify(apiVersion)}.`,
    )
  }
  const origin = parsed.origin
  const orgPath = parsed.pathname.replace(/\/api\/data(\/.*)?$/, '').replace(/\/+$/, '')
  const orgUrl = origin + orgPath
  const baseHeaders: Record<string, string> = {
    accept: 'application/json',
    'odata-maxversion': '4.0',
    'odata-version': '4.0',
    'user-agent': options.userAgent ?? 'dataverse-s2s-webapi',
  }
  for (const [k, v] of Object.entries(options.headers ?? {})) baseHeaders[k.toLowerCase()] = v
  // Read the globals at call time, so a test's fake timers (installed after the client was made) apply too.
  const clock: ClientClock = {
    now: options.clock?.now ?? (() => Date.now()),
    sleep: options.clock?.sleep ?? ((ms, signal) => realSleep(ms, signal)),
  }
  const config: PipelineConfig = {
    baseUrl: `${orgUrl}/api/data/v${apiVersion}/`,
    origin,
    resource: orgUrl,
    getToken: options.getToken,
    transport: createTransport({
      fetch: options.fetch,
      ca: options.ca,
      dispatcher: options.dispatcher,
      connections: options.connections,
    }),
    governor: resolveGate(options.concurrency, orgUrl, options.logger, clock),
    retry: resolveRetry(options.retry),
    timeoutMs: options.timeoutMs ?? 120_000,
    logger: options.logger,
    baseHeaders,
    telemetry: createTelemetry(options.telemetry, origin),
    clock,
    deadlines: new Deadlines(),
  }
  const onSessionToken = options.onSessionToken
  const core: ClientCore = {
    config,
    retryCreates: config.retry.retryCreates,
    sessionToken: undefined,
    send: (spec) => send(config, spec),
  }
  // Microsoft Learn, Use elastic tables using code: writes answer `x-ms-session-token`. The pipeline reports it from
  // the response it already holds (no extra step on every request's way back).
  config.onSessionToken = (token, spec) => {
    core.sessionToken = token
    // The request succeeded: a failing callback must not turn it into an error (a create would look unwritten).
    try {
      onSessionToken?.(token, { method: spec.method, path: spec.path })
    } catch (e) {
      config.logger?.warn?.('onSessionToken threw; the request itself succeeded', { error: String(e) })
    }
  }
  return buildClient(core, orgUrl, options.impersonate, createDefinitionsCache(options.definitions))
}

function buildClient(
  core: ClientCore,
  orgUrl: string,
  impersonate: Impersonation | undefined,
  definitions: DefinitionsCache,
): DataverseClient {
  const scope = scopeOf(core, impersonate)
  const client: DataverseClient = {
    url: orgUrl,
    baseUrl: scope.baseUrl,
    sessionToken: () => core.sessionToken,
    as: (who) => {
      impersonationHeaders(who, {})
      return buildClient(core, orgUrl, who, definitions)
    },
    definitions: definitionsOf(scope, definitions),
    ...recordMethods(scope),
    ...queryMethods(scope),
    ...changeMethods(scope),
    ...fetchXmlMethods(scope),
    ...operationMethods(scope),
    ...fileMethods(scope),
    ...searchMethods(scope),
    createMultiple: async (table, rows, options) =>
      (await runBulk(core, impersonate, 'CreateMultiple', table, rows, options)).ids,
    updateMultiple: async (table, rows, options) =>
      (await runBulk(core, impersonate, 'UpdateMultiple', table, rows, options)).count,
    upsertMultiple: async (table, rows, options) =>
      (await runBulk(core, impersonate, 'UpsertMultiple', table, rows, options)).count,
    deleteMultiple: async (table, rows, options) =>
      (await runBulk(core, impersonate, 'DeleteMultiple', table, rows, options)).count,

    batch: (options) => createBatch(core, impersonate, options),
  }
  return Object.freeze(client)
}
