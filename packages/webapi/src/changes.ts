// Change tracking (Microsoft Learn, "Use change tracking to synchronize data with external systems",
// https://learn.microsoft.com/power-apps/developer/data-platform/use-change-tracking-synchronize-data-external-systems):
// GET <set>?$select=... with `Prefer: odata.track-changes` answers the rows and an `@odata.deltaLink`; GET of that
// link, verbatim, answers the rows created or changed since and `$deletedEntity` entries for deleted rows, then a new
// deltaLink. Errors: ChangeTrackingNotEnabledForEntity 0x80072491, ExpiredVersionStamp 0x80044352 ("Web service
// error codes").
import type { DataverseClient } from './client-types.ts'
import { DataverseError, isDataverseError } from './errors.ts'
import { common, parseJson, prefer, type Scope } from './internal/core.ts'
import { checkName } from './internal/paths.ts'
import { annotationPreference, buildQueryString } from './query.ts'
import type { Row } from './row.ts'
import type { ChangesOptions, ChangesPage, RowChange } from './types.ts'

const NOT_ENABLED = '0x80072491'
const EXPIRED = '0x80044352'

function checkPageSize(size: number | undefined): string | undefined {
  if (size === undefined) return undefined
  if (!Number.isInteger(size) || size < 1 || size > 5000)
    throw new DataverseError(
      'INVALID_ARGUMENT',
      `maxPageSize must be an integer from 1 to 5,000, got ${size}.`,
    )
  return `odata.maxpagesize=${size}`
}

/** The set a delta link belongs to (`.../api/data/v9.2/<set>?...`), to refuse a token of another table. */
function setOfLink(link: string): string | undefined {
  return /\/api\/data\/v\d+\.\d+\/([^/?(]+)\?/.exec(link)?.[1]
}

function toChange<T>(item: Record<string, unknown>): RowChange<T> {
  const context = item['@odata.context']
  if (typeof context === 'string' && context.endsWith('/$deletedEntity'))
    return { kind: 'delete', id: String(item.id) }
  return { kind: 'upsert', row: item as T }
}

function mapError(e: unknown, entitySet: string): unknown {
  if (!isDataverseError(e)) return e
  const details = {
    status: e.status,
    serviceCode: e.serviceCode,
    requestId: e.requestId,
    method: e.method,
    path: e.path,
    cause: e,
  }
  if (e.serviceCode === NOT_ENABLED)
    return new DataverseError(
      'CHANGE_TRACKING_DISABLED',
      `Change tracking is not enabled for '${entitySet}': turn on Track changes for the table (EntityMetadata.ChangeTrackingEnabled), or read it with queryAll().`,
      details,
    )
  if (e.serviceCode === EXPIRED)
    return new DataverseError(
      'CHANGE_TOKEN_EXPIRED',
      `The change token for '${entitySet}' has expired: sync the whole table again by calling changes() without a token.`,
      details,
    )
  return e
}

export function changeMethods(scope: Scope): Pick<DataverseClient, 'changes'> {
  return {
    async *changes<T = Row>(
      entitySet: string,
      options: ChangesOptions = {},
    ): AsyncIterableIterator<ChangesPage<T>> {
      const set = checkName(entitySet, 'Entity set')
      if (options.token !== undefined && setOfLink(options.token) !== set)
        throw new DataverseError(
          'INVALID_ARGUMENT',
          `The token is not a delta link of '${set}': pass the token a changes('${set}') call returned.`,
        )
      const headers = scope.headersFor(
        options,
        prefer('odata.track-changes', annotationPreference(options), checkPageSize(options.maxPageSize)),
      )
      // the first request names the set; every later one follows the link Dataverse gave, verbatim
      let path = options.token ?? set
      let query =
        options.token === undefined ? buildQueryString(options.select ? { select: options.select } : {}) : ''
      for (;;) {
        let body: Record<string, unknown>
        try {
          const result = await scope.core.send({
            method: 'GET',
            path,
            query,
            headers,
            idempotent: true,
            ...common(options),
          })
          body = parseJson<Record<string, unknown>>(result, 'GET', set)
        } catch (e) {
          throw mapError(e, set)
        }
        const value = (body.value as Record<string, unknown>[] | undefined) ?? []
        const page: ChangesPage<T> = { changes: value.map((v) => toChange<T>(v)) }
        const next = body['@odata.nextLink']
        const delta = body['@odata.deltaLink']
        if (typeof next === 'string') {
          yield page
          path = next
          query = ''
          continue
        }
        if (typeof delta !== 'string')
          throw new DataverseError(
            'INVALID_RESPONSE',
            `GET ${set} with Prefer: odata.track-changes answered neither @odata.nextLink nor @odata.deltaLink.`,
            { method: 'GET', path: set },
          )
        page.token = delta
        yield page
        return
      }
    },
  }
}
