import type { RecordKey } from './filter.ts'
import type { AnnotationOptions, QueryOptions } from './query.ts'
import type { SharedThrottleOptions } from './shared-throttle.ts'
import type { TelemetryOptions } from './telemetry.ts'

/** Receives diagnostics; never given a token or a request body. */
export interface Logger {
  debug?(message: string, fields: Record<string, unknown>): void
  warn?(message: string, fields: Record<string, unknown>): void
}

/** Retry policy. Retries are on by default. */
export interface RetryOptions {
  /** Maximum attempts per operation, the first included. Default 10. */
  maxAttempts?: number
  /** Total time an operation may spend waiting and retrying, in ms. Default 120,000. */
  budgetMs?: number
  /** Base of the exponential full-jitter backoff for 502/503/504 and network errors, in ms. Default 250. */
  baseDelayMs?: number
  /** Cap of one backoff delay, in ms. Default 15,000. */
  maxDelayMs?: number
  /** Also retry creates (POST) after 5xx or network errors; they may then run twice. Default false. */
  retryCreates?: boolean
}

/** How the client obtains a bearer token for the org. `forceRefresh` is set once after a 401. */
export type GetToken = (
  resource: string,
  options: { forceRefresh: boolean; signal?: AbortSignal | undefined },
) => Promise<string | { accessToken: string } | { token: string }> | string

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
  /**
   * `MSCRM.BypassBusinessLogicExecution`: skip synchronous (`CustomSync`) and/or asynchronous (`CustomAsync`) custom
   * logic for this call (needs the `prvBypassCustomBusinessLogic` privilege). Microsoft Learn: Bypass custom
   * Dataverse logic.
   */
  bypassBusinessLogicExecution?: readonly ('CustomSync' | 'CustomAsync')[] | undefined
  /** `MSCRM.BypassBusinessLogicExecutionStepIds`: the plug-in step registrations (GUIDs) to skip for this call. */
  bypassBusinessLogicExecutionStepIds?: readonly string[] | undefined
  /** `false` disables retries for this call. */
  retry?: boolean | undefined
  /**
   * `?tag=…`: a value plug-ins read from the execution context's shared variables (`SharedVariables["tag"]`).
   * Microsoft Learn: Use optional parameters, Add a shared variable to the plugin execution context.
   */
  tag?: string | undefined
  /**
   * `MSCRM.SessionToken`: an `x-ms-session-token` an earlier write answered, so that this request sees that write
   * (session consistency on elastic tables; Microsoft Learn: Use elastic tables using code, Sending the session token).
   * Read it with `client.sessionToken()` or the client's `onSessionToken`.
   */
  sessionToken?: string | undefined
}

export interface CreateOptions extends CallOptions {
  /**
   * Retry this create after a 5xx or dropped connection. Safe when the row carries an alternate key (a repeat then
   * fails on the duplicate key instead of adding a second row); otherwise it may run twice. Default: the client's
   * `retry.retryCreates` (false). 429s are always retried: a throttled request was not executed.
   */
  retryable?: boolean | undefined
  /** Columns returned with `returnRepresentation` (`$select`). */
  select?: readonly string[] | undefined
  /**
   * Related rows returned with `returnRepresentation` (`$expand`, written as `query()` and `retrieve()` write it).
   * Microsoft Learn (Create a table row using the Web API, Create with data returned): a nested expand of a
   * collection-valued navigation property returns no data with `return=representation`.
   */
  expand?: QueryOptions['expand'] | undefined
}

export interface RetrieveOptions extends CallOptions, AnnotationOptions {
  select?: readonly string[] | undefined
  expand?: QueryOptions['expand'] | undefined
  /**
   * Elastic tables: `?partitionId=…`, the row's `partitionid` (Microsoft Learn: Use elastic tables using code). Or
   * name the row by its alternate key instead: `{ contoso_sensordataid: guid(id), partitionid: 'device-001' }`.
   */
  partitionId?: string | undefined
}

export interface UpdateOptions extends CallOptions {
  /** Only update if the row still has this `@odata.etag` (else a `PRECONDITION_FAILED` error, 412). */
  ifMatch?: string | undefined
  select?: readonly string[] | undefined
}

export interface UpsertOptions extends CallOptions {
  /** `upsert` (default), `createOnly` (`If-None-Match: *`, 412 if it exists), `updateOnly` (`If-Match: *`, 404 if missing). */
  mode?: 'upsert' | 'createOnly' | 'updateOnly' | undefined
  /** Columns of the row returned with `returnRepresentation` (`$select`); refused without it. */
  select?: readonly string[] | undefined
}

/**
 * What an upsert with `returnRepresentation` answers: the row (shaped by `select`) and whether the upsert created it
 * (201) or updated an existing row (200), as Microsoft Learn's "Use Upsert to Create or Update a record" documents.
 */
export interface UpsertResult<T> {
  created: boolean
  row: T
}

export interface DeleteOptions extends CallOptions {
  ifMatch?: string | undefined
  /** Elastic tables: `?partitionId=…`, the row's `partitionid` (as for {@link RetrieveOptions.partitionId}). */
  partitionId?: string | undefined
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

/** Options of `changes()`: where to resume, and what to read. */
export interface ChangesOptions extends CallOptions, AnnotationOptions {
  /**
   * The `token` of the last page of an earlier `changes()` call on the same table: only the rows created, changed or
   * deleted since are read. Without it, every row is read (a full sync). The token is opaque (it is the delta link
   * Dataverse returned, followed verbatim) and fixes the columns: `select` is ignored with a token.
   */
  token?: string | undefined
  /** Columns to read (`$select`); the primary id is always included. */
  select?: readonly string[] | undefined
  /** Page size (`Prefer: odata.maxpagesize`), at most 5,000. */
  maxPageSize?: number | undefined
}

/** One change of a row: created or changed (the row's selected columns), or deleted (its id). */
export type RowChange<T> = { kind: 'upsert'; row: T } | { kind: 'delete'; id: string }

/** One page of changes. Only the last page of a delta carries `token`. */
export interface ChangesPage<T> {
  changes: RowChange<T>[]
  /**
   * On the last page: where the next `changes()` call resumes. Persist it only after applying every change read
   * before it, so that a crash resumes from the previous token and reapplies changes rather than losing them.
   */
  token?: string
}

/** One page of a FetchXML query. */
export interface FetchXmlPage<T> {
  value: T[]
  moreRecords: boolean
  /** Decoded paging cookie, to pass back as `paging-cookie`. */
  pagingCookie?: string
  page: number
  /**
   * With `returntotalrecordcount="true"` on `<fetch>`: `@odata.count`, the number of rows matching the query, up to
   * 5,000 (Microsoft Learn: Count rows using FetchXml).
   */
  count?: number
  /**
   * With `returntotalrecordcount="true"`: `@Microsoft.Dynamics.CRM.totalrecordcount`, the same count up to 5,000, or
   * -1 (the client asks for the annotation itself).
   */
  totalRecordCount?: number
  /**
   * With `returntotalrecordcount="true"`: `@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded`, true when more
   * than 5,000 rows match, so that `count` is not the whole number.
   */
  totalRecordCountLimitExceeded?: boolean
}

export interface FetchXmlOptions extends CallOptions, AnnotationOptions {
  /** Rows per page (`count` attribute). Default: the query's own `count`, else 5,000. */
  pageSize?: number | undefined
}

/** What `client.whoAmI()` returns: the ids of the calling user (the application user), its business unit and the org. */
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

/** How many requests the client sends to an org at once, and whether the limit follows Dataverse's `x-ms-dop-hint`. */
export interface ConcurrencyOptions {
  /** Limit before the first `x-ms-dop-hint`. Default 8. */
  initial?: number
  /** Upper bound, at most 52 (Dataverse's concurrency limit). Default 52. */
  max?: number
  /** Adapt from `x-ms-dop-hint`, back off on 429, ramp up when healthy. Default true. */
  adaptive?: boolean
  /**
   * Share the pause, the limit and the request budget with every instance of the app that uses the same org and
   * application user (e.g. `createRedisThrottle` of `@dataverse-s2s/redis`). Without it, each client governs alone.
   */
  shared?: SharedThrottleOptions
}

/** The clock behind a client's waits. Tests pass a fake one so that waits take no real time. */
export interface ClientClock {
  /** Milliseconds since the epoch. */
  now(): number
  /** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>
}

/** The request whose response carried an `x-ms-session-token`. */
export interface SessionTokenSource {
  method: string
  /** Relative to the Web API base, as sent (`contoso_sensordatas(…)`), without the query. */
  path: string
}

/** Options of {@link createDataverseClient}. */
export interface DataverseClientOptions {
  /** Org URL, e.g. `https://contoso.crm.dynamics.com` (a trailing `/api/data/...` is ignored). */
  url: string
  /** Returns a bearer token for `resource` (the org URL). Called per request: cache inside it. */
  getToken: GetToken
  /** A `fetch` to send with; wins over the built-in transport (undici on Node, global `fetch` elsewhere). */
  fetch?: typeof fetch | undefined
  /**
   * Node only: extra trusted CA certificates (PEM) for the undici transport, e.g. the emulator's CA.
   * Ignored when `fetch` or `dispatcher` is given.
   */
  ca?: string | readonly string[] | undefined
  /** Node only: an undici `Dispatcher` (Agent, Pool, ProxyAgent, MockAgent) to send through. */
  dispatcher?: unknown
  /** Node only: maximum sockets per origin for the built-in undici Agent. Default 64. */
  connections?: number | undefined
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
   * Called with the `x-ms-session-token` of every response that carries one (writes to elastic tables; Microsoft
   * Learn: Use elastic tables using code), and the request it answered, e.g. to keep one token per partition and send
   * it back as the `sessionToken` option of a later read. Runs for this client and the clients `as()` derives.
   */
  onSessionToken?: ((token: string, request: SessionTokenSource) => void) | undefined
  /**
   * OpenTelemetry tracer and meter (`trace.getTracer('my-app')`, `metrics.getMeter('my-app')`): one CLIENT span
   * per HTTP attempt, `http.client.request.duration`, throttle and retry counters. Default: none, nothing recorded.
   */
  telemetry?: TelemetryOptions | undefined
  /**
   * The clock of the client's waits: retry back-off, `Retry-After` pauses of the whole client, the retry budget.
   * Default: real time (`Date.now` and timers).
   */
  clock?: Partial<ClientClock> | undefined
  /** The cache of `client.definitions`: how long a metadata version stamp is trusted. */
  definitions?: DefinitionsCacheOptions | undefined
}

/** Options of the definitions cache (`DataverseClientOptions.definitions`). */
export interface DefinitionsCacheOptions {
  /**
   * How long a checked metadata version stamp is trusted before the next read checks it again (one small
   * `RetrieveMetadataChanges` request). Default 300,000 (5 minutes); `0` checks before every read.
   */
  revalidateAfterMs?: number | undefined
}
