import type { Batch, BatchOptions } from './batch.ts'
import type {
  BulkRows,
  BulkTable,
  CreateMultipleOptions,
  DeleteMultipleOptions,
  UpdateMultipleOptions,
  UpsertMultipleOptions,
} from './bulk.ts'
import type { DataverseDefinitions } from './definitions-types.ts'
import type { DownloadFileOptions, DownloadFileResult, FileData, UploadFileOptions } from './files-types.ts'
import type { RecordKey } from './filter.ts'
import type { QueryOptions } from './query.ts'
import type { Row } from './row.ts'
import type {
  AutocompleteOptions,
  AutocompleteResult,
  SearchOptions,
  SearchResult,
  SuggestOptions,
  SuggestResult,
} from './search-types.ts'
import type {
  CallOptions,
  ChangesOptions,
  ChangesPage,
  CreateOptions,
  DeleteOptions,
  FetchXmlOptions,
  FetchXmlPage,
  Impersonation,
  OperationOptions,
  QueryCallOptions,
  QueryPage,
  RawResponse,
  RetrieveOptions,
  UpdateOptions,
  UpsertOptions,
  UpsertResult,
  WhoAmIResult,
} from './types.ts'

/** A client for one Dataverse org. Immutable; derive variants with `as()`. */
export interface DataverseClient {
  /** Org URL (`https://contoso.crm.dynamics.com`). */
  readonly url: string
  /** Web API base URL (`https://contoso.crm.dynamics.com/api/data/v9.2/`). */
  readonly baseUrl: string
  /** A client that impersonates `who` on every request; shares limits, pause and connections with this one. */
  as(who: Impersonation): DataverseClient
  /**
   * The `x-ms-session-token` of the latest response that carried one (a write to an elastic table), shared with the
   * clients `as()` derives; `undefined` before any. Pass it as the `sessionToken` option of a read to see your own
   * writes (Microsoft Learn: Use elastic tables using code). DELETE answers carry none (a known Dataverse issue).
   */
  sessionToken(): string | undefined
  /**
   * Typed reads of the org's table, column, choice and relationship definitions, cached in memory under the org's
   * metadata version stamp (shared with the clients `as()` derives).
   * @example
   * const industry = await client.definitions.choice('account', 'industrycode')
   * for (const o of industry.options) console.log(o.value, o.label)
   */
  readonly definitions: DataverseDefinitions

  /**
   * Creates a row and returns its id (from `OData-EntityId`).
   * @throws {DataverseError} `INVALID_ARGUMENT`, before any request, for `expand` without `returnRepresentation`.
   */
  create(
    entitySet: string,
    data: Row,
    options?: CreateOptions & { returnRepresentation?: false; expand?: undefined },
  ): Promise<string>
  /**
   * Creates a row and returns it (`Prefer: return=representation`, 201), shaped by `select` (`$select`) and `expand`
   * (`$expand`), as Microsoft Learn's "Create a table row using the Web API" (Create with data returned) documents.
   * @example
   * const account = await client.create<{ name: string; primarycontactid: { fullname: string } | null }>(
   *   'accounts',
   *   { name: 'Sample Account', 'primarycontactid@odata.bind': bind('contacts', contactId) },
   *   { returnRepresentation: true, select: ['name'], expand: [{ property: 'primarycontactid', select: ['fullname'] }] },
   * )
   */
  create<T = Row>(
    entitySet: string,
    data: Row,
    options: CreateOptions & { returnRepresentation: true },
  ): Promise<T>
  retrieve<T = Row>(entitySet: string, key: RecordKey, options?: RetrieveOptions): Promise<T>
  /**
   * Conditional GET (`If-None-Match: etag`): `undefined` when the row still has `etag` (304).
   * @throws {DataverseError} `INVALID_ARGUMENT`, before any request, for `expand`, `formattedValues` or
   * `annotations`: Dataverse never answers 304 to a read with `$expand` or annotations.
   */
  retrieveIfChanged<T = Row>(
    entitySet: string,
    key: RecordKey,
    etag: string,
    options?: RetrieveOptions,
  ): Promise<T | undefined>
  /**
   * Updates an existing row (`If-Match: *` unless `ifMatch` is given: never creates). With `returnRepresentation`
   * it returns the row (200) with the `select` columns; it takes no `expand`, which Dataverse ignores on an update
   * (Microsoft Learn: Update and delete table rows using the Web API, Update with data returned).
   * @throws {DataverseError} `INVALID_ARGUMENT`, before any request, for `expand`.
   */
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
  /**
   * Creates or updates by id or alternate key. Returns the row's id when the answer names the row by it (`OData-EntityId`
   * or an id key), and `undefined` when Dataverse names the row by the alternate key it was sent with, as it does
   * (Microsoft Learn: Use Upsert to Create or Update a record); to learn the id, and whether the row was created,
   * pass `returnRepresentation: true` with `select: ['<table>id']`.
   * @throws {DataverseError} `INVALID_ARGUMENT`, before any request, for `select` without `returnRepresentation`.
   */
  upsert(
    entitySet: string,
    key: RecordKey,
    data: Row,
    options?: UpsertOptions & { returnRepresentation?: false },
  ): Promise<string | undefined>
  /**
   * Creates or updates and returns the row (`Prefer: return=representation`; `select` sends `$select`) with `created`:
   * `true` for a 201 (the upsert created the row), `false` for a 200 (it updated one).
   * @example
   * const { created, row } = await client.upsert<{ accountid: string }>(
   *   'accounts', { accountnumber: 'A-1' }, { name: 'Contoso' }, { returnRepresentation: true, select: ['accountid'] },
   * )
   */
  upsert<T = Row>(
    entitySet: string,
    key: RecordKey,
    data: Row,
    options: UpsertOptions & { returnRepresentation: true },
  ): Promise<UpsertResult<T>>
  delete(entitySet: string, key: RecordKey, options?: DeleteOptions): Promise<void>
  /**
   * `PUT entity(key)/property` with `{ value }`; also in a batch (`batch.setProperty`).
   * @throws {DataverseError} `INVALID_ARGUMENT`, before any request, for a `value` of `undefined` (pass `null`, or
   * use `clearProperty`).
   */
  setProperty(
    entitySet: string,
    key: RecordKey,
    property: string,
    value: unknown,
    options?: CallOptions,
  ): Promise<void>
  /** `DELETE entity(key)/property`; also in a batch (`batch.clearProperty`). */
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
  /**
   * Change tracking: the rows of a table with Track changes on, then (with `options.token`) only the rows created,
   * changed or deleted since. Yields pages; the last page carries the `token` to resume from. Throws
   * `CHANGE_TRACKING_DISABLED` for a table without change tracking and `CHANGE_TOKEN_EXPIRED` when the token is too
   * old (sync the whole table again, without a token).
   * @example
   * let token = await store.loadToken()
   * for await (const page of client.changes('accounts', { token, select: ['name'] })) {
   *   for (const c of page.changes) c.kind === 'delete' ? await store.remove(c.id) : await store.put(c.row)
   *   if (page.token) await store.saveToken(page.token) // only after applying everything before it
   * }
   */
  changes<T = Row>(entitySet: string, options?: ChangesOptions): AsyncIterableIterator<ChangesPage<T>>
  /** Every row, page after page, holding one page in memory at a time. */
  queryAll<T = Row>(entitySet: string, options?: QueryOptions & QueryCallOptions): AsyncIterableIterator<T>
  /** Every page (arrays of rows), one at a time. */
  queryPages<T = Row>(
    entitySet: string,
    options?: QueryOptions & QueryCallOptions,
  ): AsyncIterableIterator<QueryPage<T>>
  /** Number of rows (optionally matching `filter`); Dataverse caps it at 5,000 unless counting without a filter. */
  count(entitySet: string, options?: Pick<QueryOptions, 'filter' | 'aliases'> & CallOptions): Promise<number>
  /**
   * One FetchXML page (`page`/`pagingCookie` from the previous one).
   * @throws {DataverseError} `INVALID_ARGUMENT`, before any request, when `fetchXml` is not well-formed XML or its root
   * is not `<fetch>` (the message says where), or when it combines `top` with paging.
   */
  fetchXmlPage<T = Row>(
    entitySet: string,
    fetchXml: string,
    options?: FetchXmlOptions & { page?: number; pagingCookie?: string | undefined },
  ): Promise<FetchXmlPage<T>>
  /** Every FetchXML row, following paging cookies; refuses FetchXML as {@link DataverseClient.fetchXmlPage} does. */
  fetchXml<T = Row>(entitySet: string, fetchXml: string, options?: FetchXmlOptions): AsyncIterableIterator<T>

  whoAmI(options?: CallOptions): Promise<WhoAmIResult>
  /**
   * Dataverse search (relevance search) across tables: `POST /api/search/v2.0/query` (Microsoft Learn: Dataverse
   * Search query). Results come ranked by relevance, security-trimmed to what the caller may read.
   * @param term the search text, 1 to 100 characters, in simple syntax (`+`, `|`, `-`, `*`, `"…"`)
   * @param options.entities tables (and their select / search columns and filter); default: all enabled for search
   * @param options.top default 50 (Dataverse's), at most 100
   * @throws {DataverseError} `INVALID_ARGUMENT` (before any request) for a term or `top` out of range;
   * `BAD_REQUEST` when Dataverse refuses the search (search disabled for the org: `serviceCode` `0x80048d0b`) or
   * reports a search error in the answer; `FORBIDDEN`, `THROTTLED` and the other HTTP codes as for every call.
   * @example
   * const { hits, count } = await client.search('contoso', {
   *   entities: [{ name: 'account', selectColumns: ['name'], searchColumns: ['name'] }],
   *   count: true,
   *   top: 10,
   * })
   * for (const hit of hits) console.log(hit.entityName, hit.id, hit.highlights.name)
   */
  search<T = Row>(term: string, options?: SearchOptions): Promise<SearchResult<T>>
  /**
   * Suggestions for a search box: `POST /api/search/v2.0/suggest` (Microsoft Learn: Dataverse Search suggest).
   * @param term 3 to 100 characters
   * @param options.top default 5 (Dataverse's)
   * @throws {DataverseError} as {@link DataverseClient.search}.
   */
  suggest<T = Row>(term: string, options?: SuggestOptions): Promise<SuggestResult<T>>
  /**
   * Completes the last word typed: `POST /api/search/v2.0/autocomplete` (Microsoft Learn: Dataverse Search
   * autocomplete).
   * @param term 1 to 100 characters
   * @throws {DataverseError} as {@link DataverseClient.search}.
   */
  autocomplete(term: string, options?: AutocompleteOptions): Promise<AutocompleteResult>
  /**
   * Calls a function (GET); parameters are passed as escaped aliases (`Name(P=@p1)?@p1=…`): strings, numbers,
   * booleans, dates, `guid()` and arrays as OData literals, objects (a record reference `{ '@odata.id': … }`, complex
   * and entity parameters) as JSON, and an {@link odata} expression as written, e.g. the enum member
   * `Microsoft.Dynamics.CRM.TargetFieldType'ValidForCreate'` of `InitializeFrom`.
   */
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
   * const accounts = { entitySet: 'accounts', logicalName: 'account' }
   * await client.upsertMultiple(accounts, rows, { key: (row) => ({ accountnumber: row.accountnumber as string }) })
   */
  upsertMultiple(table: BulkTable, rows: BulkRows, options?: UpsertMultipleOptions): Promise<number>
  /**
   * Deletes many rows of an **elastic table** with `DeleteMultiple` (Microsoft Learn: Use DeleteMultiple), chunked
   * like `createMultiple`, 100 rows per request by default. Each row names one record by its primary key column and,
   * on a partitioned table, its `partitionid`; the client adds `@odata.type`. Dataverse serves DeleteMultiple only for
   * elastic tables (a standard table answers 400). Chunks are retried like `delete`.
   * @returns the number of rows sent for deletion.
   * @throws {DataverseError} `BULK_INCOMPLETE` with `error.bulk`, as for `createMultiple`.
   * @example
   * const sensorData = { entitySet: 'contoso_sensordatas', logicalName: 'contoso_sensordata' }
   * await client.deleteMultiple(sensorData, [{ contoso_sensordataid: id, partitionid: 'Device-ABC-1234' }])
   */
  deleteMultiple(table: BulkTable, rows: BulkRows, options?: DeleteMultipleOptions): Promise<number>
  /**
   * Uploads a file to a file column: one `PATCH` below 128 MB, else (or with `chunked: true`) a chunked upload in the
   * chunk size Dataverse answers (4 MB), each chunk read from `data` only when it is sent. Replaces the row's file.
   * Needs write access to the row. Microsoft Learn: Use file column data.
   * @param options.fileName stored in `<column>_name`; required
   * @param options.chunked default: chunked from 128 MB or for a name outside ASCII
   * @throws {DataverseError} `INVALID_ARGUMENT` (no file name, data of another type; nothing sent), `BAD_REQUEST` with
   * `serviceCode` `0x80044a02` when the file is larger than the column's MaxSizeInKB, `NOT_FOUND` (no such row or
   * column), `FORBIDDEN` (no write privilege), `INVALID_RESPONSE` (the chunked upload did not go as Learn describes).
   * @example
   * const bytes = new TextEncoder().encode('Quarterly report')
   * await client.uploadFile('accounts', id, 'sample_filecolumn', bytes, { fileName: 'report.txt' })
   */
  uploadFile(
    entitySet: string,
    key: RecordKey,
    column: string,
    data: FileData,
    options: UploadFileOptions,
  ): Promise<void>
  /**
   * Downloads a file column's file, in 4 MB `Range` requests (206) until `x-ms-file-size` bytes have arrived.
   * @param options.chunked `false` for one request without `Range` (Learn: up to 16 MB)
   * @throws {DataverseError} `NOT_FOUND` when the row has no file (or no such row), `FORBIDDEN` without read access,
   * `INVALID_RESPONSE` when the ranges do not add up to the announced size.
   */
  downloadFile(
    entitySet: string,
    key: RecordKey,
    column: string,
    options?: DownloadFileOptions,
  ): Promise<DownloadFileResult>
  /** Deletes a file column's file (`DELETE entity(key)/column`); the column and its `_name` read null again. */
  deleteFile(entitySet: string, key: RecordKey, column: string, options?: CallOptions): Promise<void>
  /** Starts an explicit batch (nothing is sent until `execute()`). */
  batch(options?: BatchOptions): Batch
  /** Escape hatch: any Web API request with the client's policies. */
  request<T = unknown>(spec: {
    method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE'
    path: string
    query?: string
    body?: unknown
    headers?: Readonly<Record<string, string>>
    idempotent?: boolean
    signal?: AbortSignal
    timeoutMs?: number
  }): Promise<RawResponse<T>>
}
