import type { DataverseClient } from './client-types.ts'
import { DataverseError } from './errors.ts'
import { common, parseJson, prefer, type Scope } from './internal/core.ts'
import { checkName } from './internal/paths.ts'
import { annotationPreference, buildQueryString, type QueryOptions } from './query.ts'
import type { Row } from './row.ts'
import type { QueryCallOptions, QueryPage } from './types.ts'

type QueryMethods = Pick<DataverseClient, 'query' | 'queryNext' | 'queryPages' | 'queryAll' | 'count'>

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

// Microsoft Learn, Page results using OData: "Don't use $top with odata.maxpagesize" (Dataverse then ignores $top),
// so asking for both is refused rather than silently returning more rows than `top`.
function checkTopWithPageSize(options: { top?: number | undefined; maxPageSize?: number | undefined }): void {
  if (options.top !== undefined && options.maxPageSize !== undefined) {
    throw new DataverseError(
      'INVALID_ARGUMENT',
      'top and maxPageSize cannot be combined (Dataverse ignores $top with odata.maxpagesize): use top for at most N rows in one page, or maxPageSize to page through all rows.',
    )
  }
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

/** GETs one page of `path` and reads its rows, next link and counts. */
async function fetchPage<T>(
  scope: Scope,
  path: string,
  query: string,
  options: QueryCallOptions | undefined,
): Promise<QueryPage<T>> {
  const result = await scope.core.send({
    method: 'GET',
    path,
    query,
    headers: scope.headersFor(
      options,
      prefer(annotationPreference(options ?? {}), checkPageSize(options?.maxPageSize)),
    ),
    idempotent: true,
    ...common(options),
  })
  return toPage<T>(parseJson<Record<string, unknown>>(result, 'GET', path))
}

/** OData queries: one page, the next page, every page or row, and counts. */
export function queryMethods(scope: Scope): QueryMethods {
  const { core, headersFor } = scope
  const client: QueryMethods = {
    async query<T>(entitySet: string, options?: QueryOptions & QueryCallOptions) {
      const path = checkName(entitySet, 'Entity set')
      checkTopWithPageSize(options ?? {})
      return fetchPage<T>(scope, path, buildQueryString(options ?? {}), options)
    },

    queryNext<T>(nextLink: string, options?: QueryCallOptions) {
      return fetchPage<T>(scope, nextLink, '', options)
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
        // The documented request carries the usual Accept: application/json (Microsoft Learn: Count rows);
        // the answer is the number as text either way.
        const result = await core.send({
          method: 'GET',
          path,
          headers: headersFor(options),
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
      // Microsoft Learn, Count rows: `$filter` with `$count=true` counts every match "irrespective of the page size
      // requested", so one row per page keeps the answer small; `$top` is not documented with `$count` and is left out.
      const page = await fetchPage<Row>(
        scope,
        set,
        buildQueryString({
          filter: options.filter,
          count: true,
          ...(options.aliases ? { aliases: options.aliases } : {}),
        }),
        { ...options, maxPageSize: 1 },
      )
      if (page.count === undefined) {
        throw new DataverseError('INVALID_RESPONSE', `GET ${set}: the response carried no @odata.count.`, {
          method: 'GET',
          path: set,
        })
      }
      return page.count
    },
  } as QueryMethods
  return client
}
