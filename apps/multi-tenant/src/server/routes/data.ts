import { errorResponse } from '@dataverse-s2s/hono'
import { type DataverseClient, formatLiteral, type QueryPage, type Row } from '@dataverse-s2s/webapi'
import { Hono } from 'hono'
import { openCursor, signCursor } from '../cursor.ts'
import type { Services } from '../services.ts'
import { auditColumns, cleanBody, type TableSpec, tables } from '../tables.ts'

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const FORMATTED = '@OData.Community.Display.V1.FormattedValue'

/** A row as the SPA sees it: id, etag, the table's columns and who created / changed it. */
function toDto(spec: TableSpec, row: Row) {
  const out: Record<string, unknown> = { id: row[spec.id], etag: row['@odata.etag'] }
  for (const col of spec.select) if (col !== spec.id) out[col] = row[col] ?? null
  for (const col of auditColumns) {
    if (col in row) out[col.replace(/^_|_value$/g, '')] = row[`${col}${FORMATTED}`] ?? row[col] ?? null
  }
  return out
}

/** One row with its etag and the display names of its audit lookups. */
function read(client: DataverseClient, spec: TableSpec, id: string): Promise<Row> {
  return client.retrieve(spec.entitySet, id, {
    select: [...spec.select, ...auditColumns],
    formattedValues: true,
  })
}

/**
 * The customer's data, through `c.var.dataverse` (set by the hono middleware for the user's own tenant). Nothing in
 * the request chooses the org: table names are an allow-list, ids must be GUIDs, bodies only known columns, and
 * paging cursors are signed for this tenant and table.
 */
export function dataRoutes(s: Services): Hono {
  const app = new Hono()

  app.get('/api/me', async (c) => {
    const who = await c.var.dataverse.whoAmI()
    return c.json({
      name: c.var.user.name ?? null,
      tenantId: c.var.tenant.tenantId,
      orgUrl: c.var.tenant.orgUrl,
      actor: c.var.actor,
      dataverseUserId: who.userId,
      canAdminister: c.var.tenant['canAdminister'] === true,
    })
  })

  app.get('/api/tables/:table', async (c) => {
    const spec = tables[c.req.param('table')]
    if (!spec) return errorResponse(c, 404, 'unknown_table', 'This app shows accounts and contacts only.')
    const pageSize = Math.min(Math.max(Number(c.req.query('pageSize') ?? 10) || 10, 1), 100)
    const scope = `${c.var.tenant.tenantId}|${spec.entitySet}|${c.var.actor}|${pageSize}`
    const cursor = c.req.query('cursor')
    let page: QueryPage<Row>
    if (cursor) {
      const nextLink = openCursor(s.stateSecret, scope, cursor)
      if (!nextLink || new URL(nextLink).origin !== new URL(c.var.tenant.orgUrl).origin) {
        return errorResponse(
          c,
          400,
          'invalid_cursor',
          'That page link is not valid any more: go back to the first page.',
        )
      }
      page = await c.var.dataverse.queryNext(nextLink, { maxPageSize: pageSize, formattedValues: true })
    } else {
      const search = (c.req.query('search') ?? '').trim().slice(0, 100)
      // Column names come from the allow-list; the search text is escaped as an OData string literal.
      const filter = search
        ? spec.search.map((col) => `contains(${col},${formatLiteral(search)})`).join(' or ')
        : undefined
      page = await c.var.dataverse.query(spec.entitySet, {
        select: [...spec.select, ...auditColumns],
        orderBy: [spec.orderBy, spec.id],
        ...(filter ? { filter } : {}),
        maxPageSize: pageSize,
        formattedValues: true,
      })
    }
    return c.json({
      rows: page.value.map((r) => toDto(spec, r)),
      next: page.nextLink ? signCursor(s.stateSecret, scope, page.nextLink) : null,
    })
  })

  app.get('/api/tables/:table/:id', async (c) => {
    const spec = tables[c.req.param('table')]
    const id = c.req.param('id')
    if (!spec || !GUID.test(id)) return errorResponse(c, 404, 'not_found', 'That record does not exist.')
    return c.json(toDto(spec, await read(c.var.dataverse, spec, id)))
  })

  app.post('/api/tables/:table', async (c) => {
    const spec = tables[c.req.param('table')]
    if (!spec) return errorResponse(c, 404, 'unknown_table', 'This app shows accounts and contacts only.')
    const clean = cleanBody(spec, await c.req.json().catch(() => undefined), 'create')
    if ('error' in clean) return errorResponse(c, 400, 'invalid_body', clean.error)
    const id = await c.var.dataverse.create(spec.entitySet, clean.row)
    return c.json(toDto(spec, await read(c.var.dataverse, spec, id)), 201)
  })

  app.patch('/api/tables/:table/:id', async (c) => {
    const spec = tables[c.req.param('table')]
    const id = c.req.param('id')
    if (!spec || !GUID.test(id)) return errorResponse(c, 404, 'not_found', 'That record does not exist.')
    const ifMatch = c.req.header('If-Match')
    if (!ifMatch || !/^W\/"[^"]{1,100}"$/.test(ifMatch)) {
      return errorResponse(
        c,
        428,
        'etag_required',
        'Send the record’s etag in If-Match so no one else’s change is overwritten.',
      )
    }
    const clean = cleanBody(spec, await c.req.json().catch(() => undefined), 'update')
    if ('error' in clean) return errorResponse(c, 400, 'invalid_body', clean.error)
    await c.var.dataverse.update(spec.entitySet, id, clean.row, { ifMatch })
    return c.json(toDto(spec, await read(c.var.dataverse, spec, id)))
  })

  app.delete('/api/tables/:table/:id', async (c) => {
    const spec = tables[c.req.param('table')]
    const id = c.req.param('id')
    if (!spec || !GUID.test(id)) return errorResponse(c, 404, 'not_found', 'That record does not exist.')
    const ifMatch = c.req.header('If-Match')
    await c.var.dataverse.delete(
      spec.entitySet,
      id,
      ifMatch && /^W\/"[^"]{1,100}"$/.test(ifMatch) ? { ifMatch } : {},
    )
    return c.body(null, 204)
  })

  return app
}
