// Change tracking (Microsoft Learn, "Use change tracking to synchronize data with external systems",
// https://learn.microsoft.com/power-apps/developer/data-platform/use-change-tracking-synchronize-data-external-systems):
// a collection GET with `Prefer: odata.track-changes` on a table whose EntityMetadata.ChangeTrackingEnabled is true
// answers the rows and an `@odata.deltaLink` ending in `$deltatoken=<version>!<MM/dd/yyyy HH:mm:ss>`; GET of that link
// answers the rows created or changed since, `$deletedEntity` entries ({ "@odata.context": ".../$metadata#<set>/
// $deletedEntity", "id", "reason": "deleted" }) for the rows deleted since, and a new deltaLink. Errors (Dataverse
// "Web service error codes"): ChangeTrackingNotEnabledForEntity 0x80072491, ExpiredVersionStamp 0x80044352.
import { TOKEN_LIFETIME_MS } from './change-log.ts'
import { Fault } from './errors.ts'
import type { OrgModel } from './org-model.ts'
import { parseSelect } from './query.ts'
import { readFilter } from './record-access.ts'
import {
  type ApiRequest,
  type ApiResponse,
  type CallContext,
  json,
  MAX_PAGE,
  type Preferences,
} from './request.ts'
import type { Row, Table } from './store.ts'

function pad(n: number): string {
  return String(n).padStart(2, '0')
}

/** `<version>!<MM/dd/yyyy HH:mm:ss>` (UTC), the documented token form. */
export function formatToken(version: number, at: number): string {
  const d = new Date(at)
  return `${version}!${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())}/${d.getUTCFullYear()} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`
}

export function parseToken(token: string): { version: number; at: number } {
  const m = /^(\d{1,15})!(\d{2})\/(\d{2})\/(\d{4}) (\d{2}):(\d{2}):(\d{2})$/.exec(token)
  if (!m) throw Fault.syntax('The $deltatoken is not valid. Follow @odata.deltaLink exactly as returned.')
  const [, v, mo, d, y, h, mi, s] = m.map(Number) as number[]
  return { version: v as number, at: Date.UTC(y as number, (mo as number) - 1, d, h, mi, s) }
}

/** Like encodeURIComponent, plus `!` as the documented links show it (`%21`). */
function encodeToken(token: string): string {
  return encodeURIComponent(token).replace(/!/g, '%21')
}

const ALLOWED = new Set(['$select', '$deltatoken', '$skiptoken'])

/**
 * Serve a change-tracking request. Paging (odata.maxpagesize) walks the changes in version order up to the version
 * current when the delta began; the `$skiptoken` carries that bound and the last version sent. Rows changed while a
 * client pages through a delta get a newer version and come in the next delta.
 */
export function trackChanges(
  org: OrgModel,
  ctx: CallContext,
  req: ApiRequest,
  table: Table,
  root: string,
  prefs: Preferences,
): ApiResponse {
  org.checkPrivilege(ctx, 'Read', table.def)
  const def = table.def
  if (!def.changeTracking) throw Fault.changeTrackingDisabled(def.logicalName)
  const params = req.url.searchParams
  for (const key of params.keys()) {
    if (key.startsWith('$') && !ALLOWED.has(key))
      throw Fault.syntax(
        `The query option ${key} is not supported with change tracking (odata.track-changes).`,
      )
  }
  const log = org.store.changes
  const deltaText = params.get('$deltatoken')
  let from = 0
  if (deltaText !== null) {
    const token = parseToken(deltaText)
    const now = org.world.clock.now()
    if (token.version < log.floor || token.version > org.store.version || now - token.at > TOKEN_LIFETIME_MS)
      throw Fault.expiredVersionStamp()
    from = token.version
  }
  let upTo = org.store.version
  let after = from
  const skip = params.get('$skiptoken')
  if (skip !== null) {
    const m = /^(\d{1,15})-(\d{1,15})$/.exec(skip)
    if (!m || Number(m[2]) < from || Number(m[1]) > Number(m[2]) || Number(m[2]) > org.store.version)
      throw Fault.syntax(
        'The $skiptoken does not belong to this query. Follow @odata.nextLink exactly as returned.',
      )
    after = Math.max(from, Number(m[1]))
    upTo = Number(m[2])
  }
  const selectText = params.get('$select')
  const select = selectText === null ? undefined : parseSelect(def, selectText)
  const vi = def.sys.versionnumber
  type Change = { version: number; row?: Row; id?: string }
  const changes: Change[] = []
  const readable = readFilter(org, ctx, def)
  for (const row of table.byId.values()) {
    const v = row[vi] as number
    if (v > after && v <= upTo && (!readable || readable(row))) changes.push({ version: v, row })
  }
  if (from > 0) {
    for (const t of log.tombstones.get(def.logicalName) ?? []) {
      if (t.version > after && t.version <= upTo) changes.push({ version: t.version, id: t.id })
    }
  }
  changes.sort((a, b) => a.version - b.version)
  const limit =
    prefs.maxPageSize !== undefined ? Math.max(1, Math.min(prefs.maxPageSize, MAX_PAGE)) : MAX_PAGE
  const page = changes.slice(0, limit)
  const value = page.map((c) =>
    c.row
      ? org.serialize(table, c.row, select, prefs, ctx, [], root)
      : {
          '@odata.context': `${root}/$metadata#${def.entitySetName}/$deletedEntity`,
          id: c.id,
          reason: 'deleted',
        },
  )
  const kept = req.url.search
    .slice(1)
    .split('&')
    .filter((p) => p !== '' && !/^(\$|%24)(skiptoken|deltatoken)=/i.test(p))
  const body: Record<string, unknown> = {
    '@odata.context': `${root}/$metadata#${def.entitySetName}${selectText ? `(${selectText})` : ''}/$delta`,
  }
  if (changes.length > limit) {
    const last = page[page.length - 1] as Change
    const next = [...kept]
    if (deltaText !== null) next.push(`$deltatoken=${encodeToken(deltaText)}`)
    next.push(`$skiptoken=${last.version}-${upTo}`)
    body['@odata.nextLink'] = `${root}/${def.entitySetName}?${next.join('&')}`
  } else {
    kept.push(`$deltatoken=${encodeToken(formatToken(upTo, org.world.clock.now()))}`)
    body['@odata.deltaLink'] = `${root}/${def.entitySetName}?${kept.join('&')}`
  }
  body.value = value
  const applied = ['odata.track-changes']
  if (prefs.maxPageSize !== undefined) applied.push(`odata.maxpagesize=${limit}`)
  if (prefs.annotations) applied.push(`odata.include-annotations="${prefs.annotations.join(',')}"`)
  return json(200, body, { 'Preference-Applied': applied.join(',') })
}
