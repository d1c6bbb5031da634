import type { DataverseClient } from './client-types.ts'
import { DataverseError } from './errors.ts'
import { isGuid, type RecordKey } from './filter.ts'
import {
  common,
  jsonHeaders,
  parseJson,
  prefer,
  propertyValue,
  rowQuery,
  type Scope,
} from './internal/core.ts'
import { checkName, idFromEntityId, propertyPath, recordPath } from './internal/paths.ts'
import { annotationPreference, buildQueryString } from './query.ts'
import type { Row } from './row.ts'
import type { CreateOptions, RetrieveOptions, UpdateOptions, UpsertOptions, UpsertResult } from './types.ts'

type RecordMethods = Pick<
  DataverseClient,
  | 'create'
  | 'retrieve'
  | 'retrieveIfChanged'
  | 'update'
  | 'upsert'
  | 'delete'
  | 'setProperty'
  | 'clearProperty'
  | 'associate'
  | 'disassociate'
>

/** Single-row reads and writes: create, retrieve, update, upsert, delete, properties and references. */
export function recordMethods(scope: Scope): RecordMethods {
  const { core, baseUrl, headersFor } = scope
  return {
    async create<T>(
      entitySet: string,
      data: Row,
      options?: CreateOptions & { returnRepresentation?: boolean },
    ) {
      const path = checkName(entitySet, 'Entity set')
      const represent = options?.returnRepresentation === true
      if (options?.expand !== undefined && !represent) {
        throw new DataverseError(
          'INVALID_ARGUMENT',
          'create: expand only shapes the row returned with returnRepresentation: true; set it, or drop expand.',
        )
      }
      const result = await core.send({
        method: 'POST',
        path,
        query: represent ? rowQuery(options) : '',
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
      const query = rowQuery(options)
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
      // Microsoft Learn, Perform conditional operations: a query with $expand or Prefer: odata.include-annotations
      // "will never return 304 Not Modified", so these options are refused rather than sent (or silently dropped).
      if (options?.expand !== undefined || annotationPreference(options ?? {}) !== undefined) {
        throw new DataverseError(
          'INVALID_ARGUMENT',
          `retrieveIfChanged cannot expand or ask for annotations (formattedValues): Dataverse never answers 304 Not Modified to such a read. Use retrieve() for them.`,
        )
      }
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
      // Microsoft Learn, Update and delete table rows using the Web API (Update with data returned): "The $expand query
      // option will be ignored if used", so it is refused rather than sent and silently dropped.
      if ((options as { expand?: unknown } | undefined)?.expand !== undefined) {
        throw new DataverseError(
          'INVALID_ARGUMENT',
          'update cannot expand: Dataverse ignores $expand on an update with data returned. Retrieve the row with expand after updating.',
        )
      }
      const result = await core.send({
        method: 'PATCH',
        path,
        query: represent ? rowQuery({ select: options?.select }) : '',
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

    async upsert<T>(
      entitySet: string,
      key: RecordKey,
      data: Row,
      options?: UpsertOptions & { returnRepresentation?: boolean },
    ) {
      const path = recordPath(entitySet, key)
      const represent = options?.returnRepresentation === true
      if (!represent && options?.select?.length) {
        throw new DataverseError(
          'INVALID_ARGUMENT',
          'upsert: select names the columns of the row returned with returnRepresentation: true; add it or leave select out.',
        )
      }
      const mode = options?.mode ?? 'upsert'
      const conditional: Record<string, string> =
        mode === 'createOnly' ? { 'if-none-match': '*' } : mode === 'updateOnly' ? { 'if-match': '*' } : {}
      const result = await core.send({
        method: 'PATCH',
        path,
        query: represent ? rowQuery({ select: options?.select }) : '',
        headers: headersFor(options, {
          ...jsonHeaders,
          ...conditional,
          ...prefer(represent && 'return=representation'),
        }),
        body: JSON.stringify(data),
        idempotent: true,
        ...common(options),
      })
      if (represent) {
        // Learn (Use Upsert to Create or Update a record): 201 when the upsert created the row, 200 when it updated one.
        return {
          created: result.status === 201,
          row: parseJson<T>(result, 'PATCH', path),
        } satisfies UpsertResult<T>
      }
      // Named by its id, the row's id is known; named by an alternate key, Dataverse echoes the key, not the id.
      const id = idFromEntityId(result.header('odata-entityid'))
      if (id) return id
      if (typeof key === 'string' && isGuid(key)) return key
      return undefined
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
      const path = propertyPath(entitySet, key, property)
      await core.send({
        method: 'PUT',
        path,
        headers: headersFor(options, jsonHeaders),
        body: JSON.stringify(propertyValue(value)),
        idempotent: true,
        ...common(options),
      })
    },

    async clearProperty(entitySet, key, property, options) {
      const path = propertyPath(entitySet, key, property)
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
  } as RecordMethods
}
