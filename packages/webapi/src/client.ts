import { createTransport } from '#transport'
import { type Batch, type BatchOptions, createBatch } from './batch.ts'
import {
  type BulkRows,
  type BulkTable,
  type CreateMultipleOptions,
  runBulk,
  type UpdateMultipleOptions,
  type UpsertMultipleOptions,
} from './bulk.ts'
import { DataverseError } from './errors.ts'
import { formatLiteral, type ODataExpression, type ODataValue } from './filter.ts'
import { pagingCookieFrom, readFetchAttribute, setFetchAttributes } from './internal/fetchxml.ts'
import { Governor, MAX_CONCURRENCY } from './internal/governor.ts'
import type { TransportOptions } from './internal/http.ts'
import {
  checkName,
  checkQualifiedName,
  idFromEntityId,
  type RecordKey,
  recordPath,
} from './internal/paths.ts'
import {
  type GetToken,
  type Logger,
  type PipelineConfig,
  type ResolvedRetry,
  type RetryOptions,
  type SendResult,
  type SendSpec,
  send,
} from './internal/pipeline.ts'
import { createTelemetry, type TelemetryOptions } from './internal/telemetry.ts'
import { type AnnotationOptions, annotationPreference, buildQueryString, type QueryOptions } from './query.ts'

/** A Dataverse row as JSON. */
export type Row = Record<string, unknown>

/** Act on behalf of another user (needs `prvActOnBehalfOfAnotherUser`). */
export type Impersonation =
  /** Entra object id of the user (`CallerObjectId` header). */
  | { callerObjectId: string }
  /** `systemuserid` of the user (`MSCRMCallerID` header). */
  | { systemUserId: string }

/** Options every operation accepts. */
export interface CallOptions {
  signal?: AbortSignal | undefined
  /** Per-attempt timeout in ms. Default: the client's `timeoutMs`. */
  timeoutMs?: number | undefined
  /** Extra request headers (e.g. `Consistency: Strong`). */
  headers?: Readonly<Record<string, string>> | undefined
  /** Impersonate for this call only. */
  impersonate?: Impersonation | undefined
  /** `MSCRM.BypassCustomPluginExecution: true` (needs the bypass privilege). */
  bypassCustomPluginExecution?: boolean | undefined
  /** `MSCRM.SolutionUniqueName`: add created components to this solution. */
  solutionUniqueName?: string | undefined
  /** `false` disables retries for this call. */
  retry?: boolean | undefined
}

export interface CreateOptions extends CallOptions {
  /**
   * Retry this create after a 5xx or dropped connection. Safe when the row carries an alternate key (a repeat then
   * fails on the duplicate key instead of adding a second row); otherwise it may run twice. Default: the client's
   * `retry.retryCreates` (false). 429s are always retried: a throttled request was not executed.
   */
  retryable?: boolean | undefined
  /** Columns returned with `returnRepresentation`. */
  select?: readonly string[] | undefined
}

export interface RetrieveOptions extends CallOptions, AnnotationOptions {
  select?: readonly string[] | undefined
  expand?: QueryOptions['expand'] | undefined
}

export interface UpdateOptions extends CallOptions {
  /** Only update if the row still has this `@odata.etag` (else a `PRECONDITION_FAILED` error, 412). */
  ifMatch?: string | undefined
  select?: readonly string[] | undefined
}

export interface UpsertOptions extends CallOptions {
  /** `upsert` (default), `createOnly` (`If-None-Match: *`, 412 if it exists), `updateOnly` (`If-Match: *`, 404 if missing). */
  mode?: 'upsert' | 'createOnly' | 'updateOnly' | undefined
  select?: readonly string[] | undefined
}

export interface DeleteOptions extends CallOptions {
  ifMatch?: string | undefined
}

export interface QueryCallOptions extends CallOptions, AnnotationOptions {
  /** Page size (`Prefer: odata.maxpagesize`), at most 5,000. */
  maxPageSize?: number | undefined
}

/** One page of a query. */
export interface QueryPage<T> {
  value: T[]
  /** Pass to `queryNext()` for the following page; absent on the last page. */
  nextLink?: string
  /** With `count: true`: `@odata.count`. */
  count?: number
  /** `@Microsoft.Dynamics.CRM.totalrecordcount` when annotations were requested. */
  totalRecordCount?: number
}

/** One page of a FetchXML query. */
export interface FetchXmlPage<T> {
  value: T[]
  moreRecords: boolean
  /** Decoded paging cookie, to pass back as `paging-cookie`. */
  pagingCookie?: string
  page: number
}

export interface FetchXmlOptions extends CallOptions, AnnotationOptions {
  /** Rows per page (`count` attribute). Default: the query's own `count`, else 5,000. */
  pageSize?: number | undefined
}

export interface WhoAmIResult {
  userId: string
  businessUnitId: string
  organizationId: string
}

/** Target of a bound function or action. */
export interface BoundTo {
  entitySet: string
  /** Omit for a collection-bound operation. */
  key?: RecordKey
}

export interface OperationOptions extends CallOptions {
  boundTo?: BoundTo | undefined
}

/** What `request()` returns: the raw status, headers and parsed JSON body (if any). */
export interface RawResponse<T = unknown> {
  status: number
  header(name: string): string | undefined
  body: T | undefined
}

export interface ConcurrencyOptions {
  /** Limit before the first `x-ms-dop-hint`. Default 8. */
  initial?: number
  /** Upper bound, at most 52 (Dataverse's concurrency limit). Default 52. */
  max?: number
  /** Adapt from `x-ms-dop-hint`, back off on 429, ramp up when healthy. Default true. */
  adaptive?: boolean
}

/** Options of {@link createDataverseClient}. */
export interface DataverseClientOptions extends Pick<TransportOptions, 'ca' | 'dispatcher' | 'connections'> {
  /** Org URL, e.g. `https://contoso.crm.dynamics.com` (a trailing `/api/data/...` is ignored). */
  url: string
  /** Returns a bearer token for `resource` (the org URL). Called per request: cache inside it. */
  getToken: GetToken
  /** A `fetch` to send with; wins over the built-in transport (undici on Node, global `fetch` elsewhere). */
  fetch?: typeof fetch | undefined
  /** Web API version. Default `'9.2'`. */
  apiVersion?: string | undefined
  /** Per-attempt timeout in ms. Default 120,000 (Dataverse's own 2-minute limit). */
  timeoutMs?: number | undefined
  /** Retry policy, or `false` to disable retries. */
  retry?: RetryOptions | false | undefined
  /** Concurrency limit per org: a number fixes it; an object tunes the adaptive limiter. */
  concurrency?: number | ConcurrencyOptions | undefined
  logger?: Logger | undefined
  /** `User-Agent` (ignored by browsers). Default `dataverse-s2s-webapi`. */
  userAgent?: string | undefined
  /** Headers added to every request. */
  headers?: Readonly<Record<string, string>> | undefined
  /** Impersonate on every request of this client. */
  impersonate?: Impersonation | undefined
  /**
   * OpenTelemetry tracer and meter (`trace.getTracer('my-app')`, `metrics.getMeter('my-app')`): one CLIENT span
   * per HTTP attempt, `http.client.request.duration`, throttle and retry counters. Default: none, nothing recorded.
   */
  telemetry?: TelemetryOptions | undefined
}

/** A client for one Dataverse org. Immutable; derive variants with `as()`. */
export interface DataverseClient {
  /** Org URL (`https://contoso.crm.dynamics.com`). */
  readonly url: string
  /** Web API base URL (`https://contoso.crm.dynamics.com/api/data/v9.2/`). */
  readonly baseUrl: string
  /** A client that impersonates `who` on every request; shares limits, pause and connections with this one. */
  as(who: Impersonation): DataverseClient

  /** Creates a row and returns its id (from `OData-EntityId`). */
  create(
    entitySet: string,
    data: Row,
    options?: CreateOptions & { returnRepresentation?: false },
  ): Promise<string>
  /** Creates a row and returns it (`Prefer: return=representation`). */
  create<T = Row>(
    entitySet: string,
    data: Row,
    options: CreateOptions & { returnRepresentation: true },
  ): Promise<T>
  retrieve<T = Row>(entitySet: string, key: RecordKey, options?: RetrieveOptions): Promise<T>
  /** Conditional GET: `undefined` when the row still has `etag` (304). */
  retrieveIfChanged<T = Row>(
    entitySet: string,
    key: RecordKey,
    etag: string,
    options?: RetrieveOptions,
  ): Promise<T | undefined>
  /** Updates an existing row (`If-Match: *` unless `ifMatch` is given: never creates). */
  update(
    entitySet: string,
    key: RecordKey,
    data: Row,
    options?: UpdateOptions & { returnRepresentation?: false },
  ): Promise<void>
  update<T = Row>(
    entitySet: string,
    key: RecordKey,
    data: Row,
    options: UpdateOptions & { returnRepresentation: true },
  ): Promise<T>
  /** Creates or updates by id or alternate key; returns the id. */
  upsert(entitySet: string, key: RecordKey, data: Row, options?: UpsertOptions): Promise<string>
  delete(entitySet: string, key: RecordKey, options?: DeleteOptions): Promise<void>
  /** `PUT entity(key)/property` with `{ value }`. */
  setProperty(
    entitySet: string,
    key: RecordKey,
    property: string,
    value: unknown,
    options?: CallOptions,
  ): Promise<void>
  /** `DELETE entity(key)/property`. */
  clearProperty(entitySet: string, key: RecordKey, property: string, options?: CallOptions): Promise<void>
  /** `POST entity(key)/navigation/$ref` (collection-valued) or `PUT` (single-valued with `single: true`). */
  associate(
    entitySet: string,
    key: RecordKey,
    navigationProperty: string,
    target: { entitySet: string; key: RecordKey },
    options?: CallOptions & { single?: boolean },
  ): Promise<void>
  /** Removes a reference; omit `target` for a single-valued navigation property. */
  disassociate(
    entitySet: string,
    key: RecordKey,
    navigationProperty: string,
    target?: { entitySet: string; key: RecordKey },
    options?: CallOptions,
  ): Promise<void>

  /** One page of rows. */
  query<T = Row>(entitySet: string, options?: QueryOptions & QueryCallOptions): Promise<QueryPage<T>>
  /** The page after `page` (follows `nextLink` verbatim). */
  queryNext<T = Row>(nextLink: string, options?: QueryCallOptions): Promise<QueryPage<T>>
  /** Every row, page after page, holding one page in memory at a time. */
  queryAll<T = Row>(entitySet: string, options?: QueryOptions & QueryCallOptions): AsyncIterableIterator<T>
  /** Every page (arrays of rows), one at a time. */
  queryPages<T = Row>(
    entitySet: string,
    options?: QueryOptions & QueryCallOptions,
  ): AsyncIterableIterator<QueryPage<T>>
  /** Number of rows (optionally matching `filter`); Dataverse caps it at 5,000 unless counting without a filter. */
  count(entitySet: string, options?: { filter?: ODataExpression | string } & CallOptions): Promise<number>
  /** One FetchXML page (`page`/`pagingCookie` from the previous one). */
  fetchXmlPage<T = Row>(
    entitySet: string,
    fetchXml: string,
    options?: FetchXmlOptions & { page?: number; pagingCookie?: string | undefined },
  ): Promise<FetchXmlPage<T>>
  /** Every FetchXML row, following paging cookies. */
  fetchXml<T = Row>(entitySet: string, fetchXml: string, options?: FetchXmlOptions): AsyncIterableIterator<T>

  whoAmI(options?: CallOptions): Promise<WhoAmIResult>
  /** Calls a function (GET); parameters are passed as escaped aliases. */
  callFunction<T = unknown>(
    name: string,
    parameters?: Readonly<Record<string, unknown>>,
    options?: OperationOptions,
  ): Promise<T>
  /** Calls an action (POST); not retried after 5xx/network errors unless `retry: true` is set via `retryable`. */
  callAction<T = unknown>(
    name: string,
    body?: Readonly<Record<string, unknown>>,
    options?: OperationOptions & { retryable?: boolean },
  ): Promise<T | undefined>
  /**
   * Creates many rows with `CreateMultiple`, `chunkSize` (default 1,000) rows per request, several requests at once
   * under the client's concurrency limit; `rows` may be an async iterable, read one chunk at a time. Each request is
   * atomic on standard tables. Fills in each row's `@odata.type`.
   * @returns the new ids, in the order of `rows`.
   * @throws {DataverseError} `BULK_INCOMPLETE` when a chunk was not written (or may have been): `error.bulk` lists
   * the chunks written (with their ids), not written and uncertain, and how many rows were read, so you can resume;
   * `INVALID_ARGUMENT` for a bad table or option (nothing sent).
   * @example
   * const ids = await client.createMultiple({ entitySet: 'accounts', logicalName: 'account' }, rows)
   */
  createMultiple(table: BulkTable, rows: BulkRows, options?: CreateMultipleOptions): Promise<string[]>
  /**
   * Updates many existing rows with `UpdateMultiple` (chunked and atomic per request like `createMultiple`; never
   * creates). Each row names its record by its primary key column, its `@odata.id`, or `options.key`.
   * Chunks are retried like `update`. @returns the number of rows written.
   * @throws {DataverseError} `BULK_INCOMPLETE` with `error.bulk`, as for `createMultiple`.
   */
  updateMultiple(table: BulkTable, rows: BulkRows, options?: UpdateMultipleOptions): Promise<number>
  /**
   * Creates or updates many rows with `UpsertMultiple`, usually by alternate key (`options.key`), chunked and atomic
   * per request like `createMultiple`. Chunks are retried like `upsert`: repeating one is harmless.
   * @returns the number of rows written.
   * @throws {DataverseError} `BULK_INCOMPLETE` with `error.bulk`, as for `createMultiple`.
   * @example
   * await client.upsertMultiple(table, rows, { key: (row) => ({ accountnumber: row.accountnumber as string }) })
   */
  upsertMultiple(table: BulkTable, rows: BulkRows, options?: UpsertMultipleOptions): Promise<number>
  /** Starts an explicit batch (nothing is sent until `execute()`). */
  batch(options?: BatchOptions): Batch
  /** Escape hatch: any Web API request with the client's policies. */
  request<T = unknown>(spec: {
    method: SendSpec['method']
    path: string
    query?: string
    body?: unknown
    headers?: Readonly<Record<string, string>>
    idempotent?: boolean
    signal?: AbortSignal
    timeoutMs?: number
  }): Promise<RawResponse<T>>
}

/** Shared by a client and the clients derived from it. */
export interface ClientCore {
  config: PipelineConfig
  retryCreates: boolean
  send(spec: SendSpec): Promise<SendResult>
}

/** Longest GET URL sent as is (PyDV enforces 32,768 for FetchXML); longer FetchXML goes through `$batch`. */
const MAX_GET_URL = 32_768

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

function resolveGovernor(concurrency: number | ConcurrencyOptions | undefined): Governor {
  if (typeof concurrency === 'number') {
    return new Governor({ initial: concurrency, max: concurrency, adaptive: false })
  }
  return new Governor({
    initial: concurrency?.initial ?? 8,
    max: concurrency?.max ?? MAX_CONCURRENCY,
    adaptive: concurrency?.adaptive ?? true,
  })
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
 * const client = createDataverseClient({ url: 'https://contoso.crm.dynamics.com', getToken: (r) => tokens.getToken(r) })
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
    governor: resolveGovernor(options.concurrency),
    retry: resolveRetry(options.retry),
    timeoutMs: options.timeoutMs ?? 120_000,
    logger: options.logger,
    baseHeaders,
    telemetry: createTelemetry(options.telemetry, origin),
  }
  const core: ClientCore = {
    config,
    retryCreates: config.retry.retryCreates,
    send: (spec) => send(config, spec),
  }
  return buildClient(core, orgUrl, options.impersonate)
}

export function impersonationHeaders(who: Impersonation | undefined, target: Record<string, string>): void {
  if (!who) return
  if ('callerObjectId' in who) {
    if (!/^[0-9a-f-]{36}$/i.test(who.callerObjectId)) {
      throw new DataverseError(
        'INVALID_ARGUMENT',
        'callerObjectId must be the Entra object id (a GUID) of the user.',
      )
    }
    target.callerobjectid = who.callerObjectId
  } else if ('systemUserId' in who) {
    if (!/^[0-9a-f-]{36}$/i.test(who.systemUserId)) {
      throw new DataverseError('INVALID_ARGUMENT', 'systemUserId must be a systemuserid GUID.')
    }
    target.mscrmcallerid = who.systemUserId
  }
}

export function callHeaders(
  defaults: Impersonation | undefined,
  options: CallOptions | undefined,
  extra?: Record<string, string>,
): Record<string, string> {
  const headers: Record<string, string> = { ...extra }
  impersonationHeaders(options?.impersonate ?? defaults, headers)
  if (options?.bypassCustomPluginExecution) headers['mscrm.bypasscustompluginexecution'] = 'true'
  if (options?.solutionUniqueName) headers['mscrm.solutionuniquename'] = options.solutionUniqueName
  if (options?.headers) for (const [k, v] of Object.entries(options.headers)) headers[k.toLowerCase()] = v
  return headers
}

function parseJson<T>(result: SendResult, method: string, path: string): T {
  try {
    return JSON.parse(result.text) as T
  } catch (cause) {
    throw new DataverseError('INVALID_RESPONSE', `${method} ${path}: the response body is not JSON.`, {
      status: result.status,
      method,
      path,
      cause,
    })
  }
}

function prefer(...values: (string | undefined | false)[]): Record<string, string> {
  const present = values.filter((v): v is string => typeof v === 'string')
  return present.length ? { prefer: present.join(',') } : {}
}

function selectQuery(select: readonly string[] | undefined): string {
  return select?.length ? buildQueryString({ select }) : ''
}

function toPage<T>(body: Record<string, unknown>): QueryPage<T> {
  const page: QueryPage<T> = { value: (body.value as T[] | undefined) ?? [] }
  const next = body['@odata.nextLink']
  if (typeof next === 'string') page.nextLink = next
  const count = body['@odata.count']
  if (typeof count === 'number') page.count = count
  const total = body['@Microsoft.Dynamics.CRM.totalrecordcount']
  if (typeof total === 'number') page.totalRecordCount = total
  return page
}

function checkPageSize(size: number | undefined): string | undefined {
  if (size === undefined) return undefined
  if (!Number.isInteger(size) || size < 1 || size > 5000) {
    throw new DataverseError(
      'INVALID_ARGUMENT',
      `maxPageSize must be an integer from 1 to 5,000, got ${size}.`,
    )
  }
  return `odata.maxpagesize=${size}`
}

function formatParameter(value: unknown): string {
  if (
    value !== null &&
    typeof value === 'object' &&
    !(value instanceof Date) &&
    !Array.isArray(value) &&
    !('guid' in value)
  ) {
    // Complex and entity parameters travel as JSON inside the alias value.
    return JSON.stringify(value)
  }
  return formatLiteral(value as ODataValue)
}

function buildClient(
  core: ClientCore,
  orgUrl: string,
  impersonate: Impersonation | undefined,
): DataverseClient {
  const baseUrl = core.config.baseUrl
  const headersFor = (options: CallOptions | undefined, extra?: Record<string, string>) =>
    callHeaders(impersonate, options, extra)
  const jsonHeaders = { 'content-type': 'application/json; charset=utf-8' }
  const common = (options: CallOptions | undefined) => ({
    signal: options?.signal,
    timeoutMs: options?.timeoutMs,
    retry: options?.retry,
  })

  const fetchPage = async <T>(path: string, query: string, options: QueryCallOptions | undefined) => {
    const result = await core.send({
      method: 'GET',
      path,
      query,
      headers: headersFor(
        options,
        prefer(annotationPreference(options ?? {}), checkPageSize(options?.maxPageSize)),
      ),
      idempotent: true,
      ...common(options),
    })
    return toPage<T>(parseJson<Record<string, unknown>>(result, 'GET', path))
  }

  const client: DataverseClient = {
    url: orgUrl,
    baseUrl,
    as: (who) => {
      impersonationHeaders(who, {})
      return buildClient(core, orgUrl, who)
    },

    async create<T>(
      entitySet: string,
      data: Row,
      options?: CreateOptions & { returnRepresentation?: boolean },
    ) {
      const path = checkName(entitySet, 'Entity set')
      const represent = options?.returnRepresentation === true
      const result = await core.send({
        method: 'POST',
        path,
        query: represent ? selectQuery(options?.select) : '',
        headers: headersFor(options, { ...jsonHeaders, ...prefer(represent && 'return=representation') }),
        body: JSON.stringify(data),
        idempotent: options?.retryable ?? core.retryCreates,
        ...common(options),
      })
      if (represent) return parseJson<T>(result, 'POST', path)
      const id = idFromEntityId(result.header('odata-entityid') ?? result.header('location'))
      if (!id) {
        throw new DataverseError(
          'INVALID_RESPONSE',
          `POST ${path} succeeded but returned no OData-EntityId.`,
          {
            status: result.status,
            method: 'POST',
            path,
          },
        )
      }
      return id
    },

    async retrieve<T>(entitySet: string, key: RecordKey, options?: RetrieveOptions) {
      const path = recordPath(entitySet, key)
      const query = buildQueryString({
        ...(options?.select ? { select: options.select } : {}),
        ...(options?.expand ? { expand: options.expand } : {}),
      })
      const result = await core.send({
        method: 'GET',
        path,
        query,
        headers: headersFor(options, prefer(annotationPreference(options ?? {}))),
        idempotent: true,
        ...common(options),
      })
      return parseJson<T>(result, 'GET', path)
    },

    async retrieveIfChanged<T>(entitySet: string, key: RecordKey, etag: string, options?: RetrieveOptions) {
      const path = recordPath(entitySet, key)
      const query = buildQueryString(options?.select ? { select: options.select } : {})
      const result = await core.send({
        method: 'GET',
        path,
        query,
        headers: headersFor(options, { 'if-none-match': etag }),
        idempotent: true,
        ...common(options),
      })
      if (result.status === 304) return undefined
      return parseJson<T>(result, 'GET', path)
    },

    async update<T>(
      entitySet: string,
      key: RecordKey,
      data: Row,
      options?: UpdateOptions & { returnRepresentation?: boolean },
    ) {
      const path = recordPath(entitySet, key)
      const represent = options?.returnRepresentation === true
      const result = await core.send({
        method: 'PATCH',
        path,
        query: represent ? selectQuery(options?.select) : '',
        headers: headersFor(options, {
          ...jsonHeaders,
          'if-match': options?.ifMatch ?? '*',
          ...prefer(represent && 'return=representation'),
        }),
        body: JSON.stringify(data),
        idempotent: true,
        ...common(options),
      })
      if (represent) return parseJson<T>(result, 'PATCH', path)
      return undefined as T
    },

    async upsert(entitySet, key, data, options) {
      const path = recordPath(entitySet, key)
      const mode = options?.mode ?? 'upsert'
      const conditional: Record<string, string> =
        mode === 'createOnly' ? { 'if-none-match': '*' } : mode === 'updateOnly' ? { 'if-match': '*' } : {}
      const result = await core.send({
        method: 'PATCH',
        path,
        headers: headersFor(options, { ...jsonHeaders, ...conditional }),
        body: JSON.stringify(data),
        idempotent: true,
        ...common(options),
      })
      const id = idFromEntityId(result.header('odata-entityid'))
      if (id) return id
      if (typeof key === 'string') return key
      throw new DataverseError(
        'INVALID_RESPONSE',
        `PATCH ${path} succeeded but returned no OData-EntityId.`,
        {
          status: result.status,
          method: 'PATCH',
          path,
        },
      )
    },

    async delete(entitySet, key, options) {
      const path = recordPath(entitySet, key)
      await core.send({
        method: 'DELETE',
        path,
        headers: headersFor(options, options?.ifMatch ? { 'if-match': options.ifMatch } : {}),
        idempotent: true,
        ...common(options),
      })
    },

    async setProperty(entitySet, key, property, value, options) {
      const path = `${recordPath(entitySet, key)}/${checkName(property, 'Property')}`
      await core.send({
        method: 'PUT',
        path,
        headers: headersFor(options, jsonHeaders),
        body: JSON.stringify({ value }),
        idempotent: true,
        ...common(options),
      })
    },

    async clearProperty(entitySet, key, property, options) {
      const path = `${recordPath(entitySet, key)}/${checkName(property, 'Property')}`
      await core.send({
        method: 'DELETE',
        path,
        headers: headersFor(options),
        idempotent: true,
        ...common(options),
      })
    },

    async associate(entitySet, key, navigationProperty, target, options) {
      const path = `${recordPath(entitySet, key)}/${checkName(navigationProperty, 'Navigation property')}/$ref`
      await core.send({
        method: options?.single ? 'PUT' : 'POST',
        path,
        headers: headersFor(options, jsonHeaders),
        body: JSON.stringify({ '@odata.id': baseUrl + recordPath(target.entitySet, target.key) }),
        // Re-adding an existing reference is harmless, so the association is safe to repeat.
        idempotent: true,
        ...common(options),
      })
    },

    async disassociate(entitySet, key, navigationProperty, target, options) {
      const nav = checkName(navigationProperty, 'Navigation property')
      const path = target
        ? `${recordPath(entitySet, key)}/${nav}(${recordPath(target.entitySet, target.key).replace(/^[^(]*\(|\)$/g, '')})/$ref`
        : `${recordPath(entitySet, key)}/${nav}/$ref`
      await core.send({
        method: 'DELETE',
        path,
        headers: headersFor(options),
        idempotent: true,
        ...common(options),
      })
    },

    query<T>(entitySet: string, options?: QueryOptions & QueryCallOptions) {
      const path = checkName(entitySet, 'Entity set')
      return fetchPage<T>(path, buildQueryString(options ?? {}), options)
    },

    queryNext<T>(nextLink: string, options?: QueryCallOptions) {
      return fetchPage<T>(nextLink, '', options)
    },

    async *queryPages<T>(entitySet: string, options?: QueryOptions & QueryCallOptions) {
      let page = await client.query<T>(entitySet, options)
      for (;;) {
        const next = page.nextLink
        yield page
        if (!next) return
        page = await client.queryNext<T>(next, options)
      }
    },

    async *queryAll<T>(entitySet: string, options?: QueryOptions & QueryCallOptions) {
      for await (const page of client.queryPages<T>(entitySet, options)) {
        const rows = page.value
        page.value = []
        for (let i = 0; i < rows.length; i++) {
          const row = rows[i] as T
          rows[i] = undefined as T // let consumed rows be collected while the page drains
          yield row
        }
      }
    },

    async count(entitySet, options) {
      const set = checkName(entitySet, 'Entity set')
      if (options?.filter === undefined) {
        const path = `${set}/$count`
        const result = await core.send({
          method: 'GET',
          path,
          headers: headersFor(options, { accept: 'text/plain' }),
          idempotent: true,
          ...common(options),
        })
        const n = Number.parseInt(result.text.replace(/^\uFEFF/, '').trim(), 10)
        if (!Number.isFinite(n)) {
          throw new DataverseError('INVALID_RESPONSE', `GET ${path}: expected a number.`, {
            method: 'GET',
            path,
          })
        }
        return n
      }
      const page = await fetchPage<Row>(
        set,
        buildQueryString({ filter: options.filter, count: true, top: 1 }),
        options,
      )
      if (page.count === undefined) {
        throw new DataverseError('INVALID_RESPONSE', `GET ${set}: the response carried no @odata.count.`, {
          method: 'GET',
          path: set,
        })
      }
      return page.count
    },

    async fetchXmlPage<T>(
      entitySet: string,
      fetchXml: string,
      options?: FetchXmlOptions & { page?: number; pagingCookie?: string | undefined },
    ) {
      const path = checkName(entitySet, 'Entity set')
      const page = options?.page ?? Number(readFetchAttribute(fetchXml, 'page') ?? 1)
      const size = options?.pageSize ?? Number(readFetchAttribute(fetchXml, 'count') ?? 5000)
      const xml = setFetchAttributes(fetchXml, {
        page: String(page),
        count: String(size),
        'paging-cookie': options?.pagingCookie,
      })
      const query = `?fetchXml=${encodeURIComponent(xml)}`
      let body: Record<string, unknown>
      if (baseUrl.length + path.length + query.length > MAX_GET_URL) {
        // Too long for a GET URL: send it inside a $batch, whose inner URLs may be up to 64 KB
        // (powerapps-docs use-fetchxml-web-api). It is an ordinary batch, so auth and retries apply (DWA #175).
        const batch = createBatch(core, options?.impersonate ?? impersonate, {
          signal: options?.signal,
          timeoutMs: options?.timeoutMs,
        })
        batch.query(path, { fetchXml: xml })
        const [only] = await batch.execute<Record<string, unknown>>()
        if (!only)
          throw new DataverseError('INVALID_RESPONSE', 'POST $batch: no response for the FetchXML query.')
        if (!only.ok) throw only.error
        body = only.body ?? {}
      } else {
        const result = await core.send({
          method: 'GET',
          path,
          query,
          headers: headersFor(
            options,
            prefer(
              annotationPreference(options ?? {}) ??
                'odata.include-annotations="Microsoft.Dynamics.CRM.fetchxmlpagingcookie,Microsoft.Dynamics.CRM.morerecords"',
            ),
          ),
          idempotent: true,
          ...common(options),
        })
        body = parseJson<Record<string, unknown>>(result, 'GET', path)
      }
      const cookie = pagingCookieFrom(
        body['@Microsoft.Dynamics.CRM.fetchxmlpagingcookie'] as string | undefined,
      )
      const out: FetchXmlPage<T> = {
        value: (body.value as T[] | undefined) ?? [],
        moreRecords: body['@Microsoft.Dynamics.CRM.morerecords'] === true,
        page,
      }
      if (cookie) out.pagingCookie = cookie
      return out
    },

    async *fetchXml<T>(entitySet: string, fetchXml: string, options?: FetchXmlOptions) {
      let page = Number(readFetchAttribute(fetchXml, 'page') ?? 1)
      let pagingCookie: string | undefined
      for (;;) {
        const result: FetchXmlPage<T> = await client.fetchXmlPage<T>(entitySet, fetchXml, {
          ...options,
          page,
          pagingCookie,
        })
        yield* result.value
        if (!result.moreRecords || result.value.length === 0) return
        page++
        pagingCookie = result.pagingCookie
      }
    },

    async whoAmI(options) {
      const result = await core.send({
        method: 'GET',
        path: 'WhoAmI',
        headers: headersFor(options),
        idempotent: true,
        ...common(options),
      })
      const body = parseJson<Record<string, string>>(result, 'GET', 'WhoAmI')
      return {
        userId: body.UserId as string,
        businessUnitId: body.BusinessUnitId as string,
        organizationId: body.OrganizationId as string,
      }
    },

    async callFunction<T>(
      name: string,
      parameters?: Readonly<Record<string, unknown>>,
      options?: OperationOptions,
    ) {
      const fn = operationPath(name, options?.boundTo)
      const entries = Object.entries(parameters ?? {})
      const aliases = entries.map(([p], i) => `${checkName(p, 'Parameter')}=@p${i + 1}`).join(',')
      const query = entries.length
        ? `?${entries.map(([, v], i) => `@p${i + 1}=${encodeURIComponent(formatParameter(v))}`).join('&')}`
        : ''
      const path = `${fn}(${aliases})`
      const result = await core.send({
        method: 'GET',
        path,
        query,
        headers: headersFor(options),
        idempotent: true,
        ...common(options),
      })
      return parseJson<T>(result, 'GET', path)
    },

    async callAction<T>(
      name: string,
      body?: Readonly<Record<string, unknown>>,
      options?: OperationOptions & { retryable?: boolean },
    ) {
      const path = operationPath(name, options?.boundTo)
      const result = await core.send({
        method: 'POST',
        path,
        headers: headersFor(options, jsonHeaders),
        body: JSON.stringify(body ?? {}),
        idempotent: options?.retryable ?? false,
        ...common(options),
      })
      return result.text ? parseJson<T>(result, 'POST', path) : undefined
    },

    createMultiple: async (table, rows, options) =>
      (await runBulk(core, impersonate, 'CreateMultiple', table, rows, options)).ids,
    updateMultiple: async (table, rows, options) =>
      (await runBulk(core, impersonate, 'UpdateMultiple', table, rows, options)).count,
    upsertMultiple: async (table, rows, options) =>
      (await runBulk(core, impersonate, 'UpsertMultiple', table, rows, options)).count,

    batch: (options) => createBatch(core, impersonate, options),

    async request<T>(spec: Parameters<DataverseClient['request']>[0]) {
      const result = await core.send({
        method: spec.method,
        path: spec.path,
        query: spec.query ?? '',
        headers: callHeaders(
          impersonate,
          { headers: spec.headers },
          spec.body === undefined ? {} : jsonHeaders,
        ),
        body:
          spec.body === undefined
            ? undefined
            : typeof spec.body === 'string'
              ? spec.body
              : JSON.stringify(spec.body),
        idempotent: spec.idempotent ?? spec.method !== 'POST',
        signal: spec.signal,
        timeoutMs: spec.timeoutMs,
      })
      let body: T | undefined
      if (result.text) {
        try {
          body = JSON.parse(result.text) as T
        } catch {
          body = result.text as T
        }
      }
      return { status: result.status, header: result.header, body }
    },
  } as DataverseClient
  return Object.freeze(client)
}

function operationPath(name: string, boundTo: BoundTo | undefined): string {
  if (!boundTo) return checkQualifiedName(name, 'Operation')
  const qualified = name.includes('.')
    ? checkQualifiedName(name, 'Operation')
    : `Microsoft.Dynamics.CRM.${checkName(name, 'Operation')}`
  const target =
    boundTo.key === undefined
      ? checkName(boundTo.entitySet, 'Entity set')
      : recordPath(boundTo.entitySet, boundTo.key)
  return `${target}/${qualified}`
}
