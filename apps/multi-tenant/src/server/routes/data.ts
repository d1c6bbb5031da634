import { apiUtf8Body, errorResponse } from '@dataverse-s2s/hono'
import { type DataverseClient, formatLiteral, type QueryPage, type Row } from '@dataverse-s2s/webapi'
import { type Context, Hono, type MiddlewareHandler } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { openCursor, signCursor } from '../cursor.ts'
import type { Services } from '../services.ts'
import { auditColumns, cleanBody, type TableSpec, tables } from '../tables.ts'

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const FORMATTED = '@OData.Community.Display.V1.FormattedValue'
/** The only query parameters of the list route; every other route takes none. */
const LIST_QUERY = new Set(['pageSize', 'cursor', 'search'])

/** Each audit lookup column, its formatted-value annotation and the name the SPA sees (`_createdby_value` → `createdby`). */
const AUDIT = auditColumns.map((col) => ({
  col,
  formatted: `${col}${FORMATTED}`,
  name: col.replace(/^_|_value$/g, ''),
}))

/**
 * The request's If-Match when it is one weak etag as Dataverse issues them (`W/"123"`, never `*`), else the 428 that
 * asks for it: a write names the version the user saw, so a row someone changed since is not overwritten or deleted.
 */
function requiredEtag(c: Context, unseen: string): { ifMatch: string } | Response {
  const ifMatch = c.req.header('If-Match')
  if (ifMatch && /^W\/"[^"]{1,100}"$/.test(ifMatch)) return { ifMatch }
  return errorResponse(c, 428, 'etag_required', `Send the record’s etag in If-Match so ${unseen}.`)
}

/** A row as the SPA sees it: id, etag, the table's columns and who created / changed it. */
function toDto(spec: TableSpec, row: Row) {
  const out: Record<string, unknown> = { id: row[spec.id], etag: row['@odata.etag'] }
  for (const col of spec.select) if (col !== spec.id) out[col] = row[col] ?? null
  for (const { col, formatted, name } of AUDIT) {
    if (col in row) out[name] = row[formatted] ?? row[col] ?? null
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
 * the request chooses the org: table names are an allow-list (a `Map`: inherited names are unknown), ids must be
 * GUIDs, bodies only known columns, query parameters only the list's own, and paging cursors are signed for this
 * tenant, user, table, actor kind and page size.
 */
export function dataRoutes(s: Services): Hono {
  const app = new Hono()

  // Nothing in the request may steer the query or the actor: unknown query parameters (`$filter`, `tenant`, …) and
  // any X-Act-As other than "me" (the signed-in user, from the verified token) are refused before Dataverse is called.
  const strict: MiddlewareHandler = async (c, next) => {
    const actAs = c.req.header('X-Act-As')
    if (actAs !== undefined && actAs !== 'me') {
      return errorResponse(
        c,
        400,
        'invalid_act_as',
        'X-Act-As takes only "me" (act as the signed-in user); leave it out to act as the app.',
      )
    }
    const isList = c.req.method === 'GET' && /^\/api\/tables\/[^/]+\/?$/.test(c.req.path)
    for (const [name, values] of Object.entries(c.req.queries())) {
      if (!(isList && LIST_QUERY.has(name)) || values.length > 1) {
        return errorResponse(
          c,
          400,
          'unknown_parameter',
          isList
            ? `Unknown or repeated query parameter "${name.slice(0, 40)}": use pageSize, cursor and search once each.`
            : `This route takes no query parameters ("${name.slice(0, 40)}").`,
        )
      }
    }
    await next()
  }
  app.use('/api/me', strict)
  app.use('/api/tables/*', strict)
  // A row is a handful of short columns: a body of more than 64 KB is refused before it is read. Only the methods
  // whose handlers read a body: on a GET, hono's bodyLimit would build a body stream per request for nothing.
  app.on(
    ['POST', 'PUT', 'PATCH'],
    '/api/tables/*',
    bodyLimit({
      maxSize: 64 * 1024,
      onError: (c) => errorResponse(c, 413, 'body_too_large', 'Send at most 64 KB of JSON per record.'),
    }),
    // Then bytes that are not UTF-8 get 400 invalid_body, instead of reaching the row as U+FFFD.
    apiUtf8Body(),
  )

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
    const spec = tables.get(c.req.param('table'))
    if (!spec) return errorResponse(c, 404, 'unknown_table', 'This app shows accounts and contacts only.')
    const pageSize = Math.min(Math.max(Number(c.req.query('pageSize') ?? 10) || 10, 1), 100)
    // A cursor is good only for the user it was issued to, in the same tenant, table, actor kind and page size.
    const scope = `${c.var.tenant.tenantId}|${c.var.user.objectId}|${spec.entitySet}|${c.var.actor}|${pageSize}`
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
      // Cut by code points: a cut inside a surrogate pair would leave a lone surrogate, which no URL can encode.
      const search = Array.from((c.req.query('search') ?? '').trim())
        .slice(0, 100)
        .join('')
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
    const spec = tables.get(c.req.param('table'))
    const id = c.req.param('id')
    if (!spec || !GUID.test(id)) return errorResponse(c, 404, 'not_found', 'That record does not exist.')
    return c.json(toDto(spec, await read(c.var.dataverse, spec, id)))
  })

  app.post('/api/tables/:table', async (c) => {
    const spec = tables.get(c.req.param('table'))
    if (!spec) return errorResponse(c, 404, 'unknown_table', 'This app shows accounts and contacts only.')
    const clean = cleanBody(spec, await c.req.json().catch(() => undefined), 'create')
    if ('error' in clean) return errorResponse(c, 400, 'invalid_body', clean.error)
    const id = await c.var.dataverse.create(spec.entitySet, clean.row)
    return c.json(toDto(spec, await read(c.var.dataverse, spec, id)), 201)
  })

  app.patch('/api/tables/:table/:id', async (c) => {
    const spec = tables.get(c.req.param('table'))
    const id = c.req.param('id')
    if (!spec || !GUID.test(id)) return errorResponse(c, 404, 'not_found', 'That record does not exist.')
    const etag = requiredEtag(c, 'no one else’s change is overwritten')
    if (etag instanceof Response) return etag
    const clean = cleanBody(spec, await c.req.json().catch(() => undefined), 'update')
    if ('error' in clean) return errorResponse(c, 400, 'invalid_body', clean.error)
    await c.var.dataverse.update(spec.entitySet, id, clean.row, etag)
    return c.json(toDto(spec, await read(c.var.dataverse, spec, id)))
  })

  app.delete('/api/tables/:table/:id', async (c) => {
    const spec = tables.get(c.req.param('table'))
    const id = c.req.param('id')
    if (!spec || !GUID.test(id)) return errorResponse(c, 404, 'not_found', 'That record does not exist.')
    const etag = requiredEtag(c, 'a record someone else changed is not deleted unseen')
    if (etag instanceof Response) return etag
    await c.var.dataverse.delete(spec.entitySet, id, etag)
    return c.body(null, 204)
  })

  return app
}
