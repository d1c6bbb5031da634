import { randomUUID } from 'node:crypto'
import { DataverseFault, Fault } from './errors.ts'
import {
  fileStoreOf,
  mimeTypeOf,
  newSessionToken,
  type StoredFile,
  type UploadSession,
} from './file-store.ts'
import type { ColumnDef } from './metadata.ts'
import type { EntityRef, OrgModel } from './org-model.ts'
import { checkReadAccess } from './record-access.ts'
import type { ApiRequest, ApiResponse, CallContext } from './request.ts'
import { requireRow } from './rows.ts'
import type { Row, Table } from './store.ts'

// Learn, Use file column data § Upload a file in a single request using Web API: "If the size of the file is less
// than 128 MB, you can upload the file in a single request". (The emulator's own request bound, 32 MB, is lower.)
const MAX_SINGLE_UPLOAD = 128 * 1024 * 1024
// Learn, Use file column data § Upload the file in chunks: the first response's `x-ms-chunk-size: 4194304`; a larger
// chunk is refused ("Invalid file chunk size: 25 MB. Maximum chunk size supported: 4 MB.", XrmMockup #329).
const CHUNK_SIZE = 4 * 1024 * 1024
// Learn, File columns § Retrieve file data: "File data transfers from the web service endpoints are limited to a
// maximum of 16 MB data in a single service call"; larger files are downloaded in chunks with `Range`.
const MAX_DOWNLOAD = 16 * 1024 * 1024
// Dataverse does not document how long an upload session lives; the emulator keeps one for 15 minutes of its clock
// after its start or its last accepted chunk.
export const SESSION_TTL_MS = 15 * 60 * 1000

const OCTET_STREAM = 'application/octet-stream'

const fileFault = {
  // Learn, Use file column data § Check maximum file size: unManagedidsattachmentinvalidfilesize
  tooBig: () => new DataverseFault(400, '0x80044a02', 'Attachment file size is too big.'),
  argument: (message: string) => Fault.invalidArgument(message),
  noFile: (column: string, id: string) =>
    new DataverseFault(
      404,
      '0x80040217',
      `No file attachment found for attribute: ${column} EntityId: ${id}.`,
    ),
  range: (message: string) => new DataverseFault(416, '0x80040203', message),
}

/**
 * `{set}({id})/{file column}[/$value]`: single and chunked uploads (`PATCH`), downloads (`GET`, whole or by `Range`)
 * and `DELETE`, as Learn's "Use file column data" describes them for the Web API.
 */
export function fileColumn(
  org: OrgModel,
  ctx: CallContext,
  req: ApiRequest,
  ref: EntityRef,
  col: ColumnDef,
  rest: string[],
  root: string,
): ApiResponse {
  const method = req.method.toUpperCase()
  const def = ref.table.def
  if (rest.length > 1 || (rest.length === 1 && rest[0] !== '$value'))
    throw Fault.segmentNotFound(rest.at(-1) ?? '')
  if (method === 'GET') return download(org, ctx, req, ref, col, rest.length === 1, root)
  if (rest.length === 1)
    throw Fault.methodNotAllowed(`The HTTP method '${method}' is not allowed on '$value'.`)
  if (method === 'PATCH') {
    const token = req.url.searchParams.get('sessiontoken')
    if (token !== null) return uploadChunk(org, ctx, req, ref, col, token)
    if ((req.headers.get('x-ms-transfer-mode') ?? '').toLowerCase() === 'chunked')
      return startChunked(org, ctx, req, ref, col, root)
    return uploadWhole(org, ctx, req, ref, col)
  }
  if (method === 'DELETE') {
    // Learn, Use file column data § Send DELETE request to the file column: 204 No Content
    org.checkPrivilege(ctx, 'Write', def)
    const row = requireRow(ref)
    store(org, ctx, ref.table, row, col, undefined)
    return { status: 204, headers: {} }
  }
  throw Fault.invalidArgument(
    `The file column '${col.name}' cannot be set with ${method}; upload a file with PATCH and Content-Type: ${OCTET_STREAM}.`,
  )
}

/** Replaces (or with `file` undefined, removes) the row's file: its id in the column, its name in `<column>_name`. */
function store(
  org: OrgModel,
  ctx: CallContext,
  table: Table,
  row: Row,
  col: ColumnDef,
  file: StoredFile | undefined,
): void {
  const files = fileStoreOf(org.store).files
  const old = row[col.index]
  if (typeof old === 'string') files.delete(old)
  const id = file ? randomUUID() : null
  if (file && id) files.set(id, file)
  const nameCol = table.def.byName.get(`${col.name}_name`)
  const changes = new Map<number, unknown>([[col.index, id]])
  if (nameCol) changes.set(nameCol.index, file ? file.name : null)
  org.touch(ctx, table, row, changes)
}

function checkSize(col: ColumnDef, size: number): void {
  if (size > (col.maxSizeInKB ?? 0) * 1024) throw fileFault.tooBig()
}

function requireOctetStream(req: ApiRequest): void {
  const type = (req.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase()
  if (type !== OCTET_STREAM)
    throw fileFault.argument(`A file column upload must be sent with Content-Type: ${OCTET_STREAM}.`)
}

function bodyBytes(req: ApiRequest): Uint8Array {
  return req.bytes ?? new TextEncoder().encode(req.body ?? '')
}

/** `x-ms-file-name` header first, then the query parameter (Learn: "If the header is used, it will take precedence"). */
function fileNameOf(req: ApiRequest, queryAllowed: boolean): string {
  const name =
    req.headers.get('x-ms-file-name') ?? (queryAllowed ? req.url.searchParams.get('x-ms-file-name') : null)
  if (name === null || name.trim() === '')
    throw fileFault.argument(
      'Name the file with the x-ms-file-name header (or, to start a chunked upload, query parameter).',
    )
  return name
}

function uploadWhole(
  org: OrgModel,
  ctx: CallContext,
  req: ApiRequest,
  ref: EntityRef,
  col: ColumnDef,
): ApiResponse {
  org.checkPrivilege(ctx, 'Write', ref.table.def)
  const row = requireRow(ref)
  requireOctetStream(req)
  const name = fileNameOf(req, false)
  const data = bodyBytes(req)
  if (data.byteLength >= MAX_SINGLE_UPLOAD)
    throw fileFault.argument(
      'A file of 128 MB or more cannot be uploaded in a single request; upload it in chunks.',
    )
  checkSize(col, data.byteLength)
  store(org, ctx, ref.table, row, col, { data: Uint8Array.from(data), name, mimeType: mimeTypeOf(name) })
  // Learn: HTTP/1.1 204 NoContent
  return { status: 204, headers: {} }
}

function startChunked(
  org: OrgModel,
  ctx: CallContext,
  req: ApiRequest,
  ref: EntityRef,
  col: ColumnDef,
  root: string,
): ApiResponse {
  const def = ref.table.def
  org.checkPrivilege(ctx, 'Write', def)
  const row = requireRow(ref)
  const name = fileNameOf(req, true)
  const rowId = ref.table.id(row)
  const sessions = fileStoreOf(org.store).sessions
  const now = org.world.clock.now()
  for (const [t, s] of sessions) if (s.expiresAt <= now) sessions.delete(t)
  const session: UploadSession = {
    token: newSessionToken(),
    table: def.logicalName,
    rowId,
    column: col.name,
    callerId: ctx.callerId,
    userId: ctx.userId,
    fileName: name,
    expiresAt: now + SESSION_TTL_MS,
    total: undefined,
    received: 0,
    chunks: [],
  }
  sessions.set(session.token, session)
  // Learn: 200 OK with Location (the same URL with sessiontoken), x-ms-chunk-size and Accept-Ranges: bytes
  return {
    status: 200,
    headers: {
      Location: `${root}/${def.entitySetName}(${rowId})/${col.name}?sessiontoken=${encodeURIComponent(session.token)}`,
      'x-ms-chunk-size': String(CHUNK_SIZE),
      'Accept-Ranges': 'bytes',
    },
  }
}

const CONTENT_RANGE = /^bytes (\d{1,15})-(\d{1,15})\/(\d{1,15})$/

function uploadChunk(
  org: OrgModel,
  ctx: CallContext,
  req: ApiRequest,
  ref: EntityRef,
  col: ColumnDef,
  token: string,
): ApiResponse {
  const def = ref.table.def
  org.checkPrivilege(ctx, 'Write', def)
  const row = requireRow(ref)
  const sessions = fileStoreOf(org.store).sessions
  const session = sessions.get(token)
  const invalid = () =>
    fileFault.argument('The sessiontoken is not valid for this file column; start the chunked upload again.')
  if (!session) throw invalid()
  if (
    session.table !== def.logicalName ||
    session.rowId !== ref.table.id(row) ||
    session.column !== col.name ||
    session.callerId !== ctx.callerId ||
    session.userId !== ctx.userId
  )
    throw invalid()
  if (session.expiresAt <= org.world.clock.now()) {
    sessions.delete(token)
    throw fileFault.argument('The upload session has expired; start the chunked upload again.')
  }
  requireOctetStream(req)
  const data = bodyBytes(req)
  // Learn: each chunk carries "Content-Range: bytes <range-start>-<range-end>/<size>"
  const m = CONTENT_RANGE.exec((req.headers.get('content-range') ?? '').trim())
  if (!m)
    throw fileFault.argument(
      'Each chunk needs a Content-Range header: bytes <range-start>-<range-end>/<size>.',
    )
  const [from, to, total] = [Number(m[1]), Number(m[2]), Number(m[3])]
  if (from > to || to >= total)
    throw fileFault.argument(`The Content-Range 'bytes ${from}-${to}/${total}' is not a range of the file.`)
  const length = to - from + 1
  if (length !== data.byteLength)
    throw fileFault.argument(
      `The Content-Range names ${length} bytes but the request body has ${data.byteLength}.`,
    )
  if (length > CHUNK_SIZE)
    throw fileFault.argument(
      `Invalid file chunk size: ${(length / (1024 * 1024)).toFixed(2).replace(/\.?0+$/, '')} MB. Maximum chunk size supported: 4 MB.`,
    )
  if (session.total !== undefined && total !== session.total)
    throw fileFault.argument(
      `The file size ${total} differs from the ${session.total} bytes of the earlier chunks.`,
    )
  checkSize(col, total)
  // Chunks are taken in order, each starting where the previous one ended: anything else (a gap, an overlap, a chunk
  // sent again) is refused and leaves what was received as it was.
  if (from !== session.received)
    throw fileFault.argument(
      `The chunk starts at byte ${from}, but the upload continues at byte ${session.received}; send the chunks in order, without gaps or overlaps.`,
    )
  session.total = total
  session.chunks.push(Uint8Array.from(data))
  session.received = to + 1
  session.expiresAt = org.world.clock.now() + SESSION_TTL_MS
  if (session.received < total) return { status: 206, headers: {} } // Learn: 206 PartialContent
  sessions.delete(token)
  const file = Buffer.concat(session.chunks)
  store(org, ctx, ref.table, row, col, {
    data: new Uint8Array(file.buffer, file.byteOffset, file.byteLength),
    name: session.fileName,
    mimeType: mimeTypeOf(session.fileName),
  })
  return { status: 204, headers: {} } // Learn: the final chunk's response is 204 NoContent
}

/** `bytes=<start>-<end>` (Learn); the `/<total>` suffix of the older File columns page is tolerated. */
const RANGE = /^bytes=(\d{1,15})-(\d{1,15})?(?:\/\d{1,15})?$/

function download(
  org: OrgModel,
  ctx: CallContext,
  req: ApiRequest,
  ref: EntityRef,
  col: ColumnDef,
  raw: boolean,
  root: string,
): ApiResponse {
  const def = ref.table.def
  org.checkPrivilege(ctx, 'Read', def)
  const row = requireRow(ref)
  checkReadAccess(org, ctx, ref.table, row)
  const rowId = ref.table.id(row)
  const id = row[col.index]
  const file = typeof id === 'string' ? fileStoreOf(org.store).files.get(id) : undefined
  if (!file) throw fileFault.noFile(col.name, rowId)
  const size = file.data.byteLength
  // Learn, Use file column data § Download a file in a single request / in chunks using Web API
  const headers: Record<string, string> = {
    'x-ms-file-size': String(size),
    'x-ms-file-name': file.name,
    mimetype: file.mimeType,
    'Content-Disposition': `attachment; filename="${file.name.replace(/["\\\r\n]/g, '_')}"`,
  }
  const rangeText = req.headers.get('range')
  let status = 200
  let part = file.data
  // An empty file has no byte to range over: it is answered whole.
  if (rangeText !== null && size > 0) {
    const m = RANGE.exec(rangeText.trim())
    if (!m)
      throw fileFault.range(`The Range header must be bytes=<range-start>-<range-end>, not '${rangeText}'.`)
    const start = Number(m[1])
    const end = Math.min(m[2] === undefined ? size - 1 : Number(m[2]), size - 1)
    if (start >= size || start > end)
      throw fileFault.range(`The range starts at byte ${start}, but the file has ${size} bytes.`)
    if (end - start + 1 > MAX_DOWNLOAD)
      throw fileFault.argument('A single download is limited to 16 MB; request the file in 4 MB ranges.')
    status = 206 // Learn: HTTP/1.1 206 PartialContent with x-ms-chunk-size
    part = file.data.subarray(start, end + 1)
    headers['x-ms-chunk-size'] = String(CHUNK_SIZE)
    headers['Content-Range'] = `bytes ${start}-${end}/${size}`
  } else if (size > MAX_DOWNLOAD) {
    throw fileFault.argument(
      'This file is larger than the 16 MB a single download may return; download it in chunks with the Range header.',
    )
  }
  if (raw) return { status, headers: { ...headers, 'Content-Type': OCTET_STREAM }, body: part }
  // Without `$value` the column reads as an OData Edm.Binary property: base64 in `value` (as dynamics-web-api reads it).
  return {
    status,
    headers: { ...headers, 'Content-Type': 'application/json; odata.metadata=minimal' },
    body: JSON.stringify({
      '@odata.context': `${root}/$metadata#${def.entitySetName}(${rowId})/${col.name}`,
      value: Buffer.from(part).toString('base64'),
    }),
  }
}
