import type { DataverseClient } from './client-types.ts'
import { DataverseError } from './errors.ts'
import type { FileData, UploadFileOptions } from './files-types.ts'
import type { RecordKey } from './filter.ts'
import { common, type Scope } from './internal/core.ts'
import { checkName, encodeQueryValue, recordPath } from './internal/paths.ts'

type FileMethods = Pick<DataverseClient, 'uploadFile' | 'downloadFile' | 'deleteFile'>

// Learn, Use file column data § Upload a file in a single request using Web API: "less than 128 MB".
const SINGLE_UPLOAD_LIMIT = 128 * 1024 * 1024
// Learn, Use file column data § Download the file in chunks using Web API: `Range: bytes=0-4194303` (4 MB).
const DOWNLOAD_CHUNK = 4 * 1024 * 1024
const OCTET_STREAM = 'application/octet-stream'
const ASCII_NAME = /^[\x20-\x7e]+$/

interface Source {
  size: number
  read(from: number, to: number): Promise<Uint8Array>
}

function sourceOf(data: FileData): Source {
  if (data instanceof Uint8Array) return { size: data.byteLength, read: async (f, t) => data.subarray(f, t) }
  if (data instanceof ArrayBuffer) {
    const view = new Uint8Array(data)
    return { size: view.byteLength, read: async (f, t) => view.subarray(f, t) }
  }
  if (typeof Blob !== 'undefined' && data instanceof Blob)
    return { size: data.size, read: async (f, t) => new Uint8Array(await data.slice(f, t).arrayBuffer()) }
  throw new DataverseError('INVALID_ARGUMENT', 'File data must be a Uint8Array, an ArrayBuffer or a Blob.')
}

function invalid(message: string, method: string, path: string, status?: number): DataverseError {
  return new DataverseError('INVALID_RESPONSE', message, { method, path, status })
}

/** Upload, download and delete of file columns (Learn, Use file column data). */
export function fileMethods(scope: Scope): FileMethods {
  const { core, headersFor } = scope
  const columnPath = (entitySet: string, key: RecordKey, column: string) =>
    `${recordPath(entitySet, key)}/${checkName(column, 'File column')}`

  async function uploadChunked(path: string, source: Source, options: UploadFileOptions): Promise<void> {
    const name = options.fileName
    // Learn: the first request has `x-ms-transfer-mode: chunked` and names the file with the x-ms-file-name query
    // parameter (which, unlike the header, carries names outside ASCII); 200 OK with Location and x-ms-chunk-size.
    const started = await core.send({
      method: 'PATCH',
      path,
      query: `?x-ms-file-name=${encodeQueryValue(name, 'The file name')}`,
      headers: headersFor(options, { 'x-ms-transfer-mode': 'chunked' }),
      idempotent: true,
      ...common(options),
    })
    const location = started.header('location')
    const chunkSize = Number(started.header('x-ms-chunk-size'))
    if (!location || !Number.isSafeInteger(chunkSize) || chunkSize <= 0)
      throw invalid(
        `PATCH ${path} started no chunked upload: the response has no Location or x-ms-chunk-size.`,
        'PATCH',
        path,
        started.status,
      )
    // An absolute Location is checked against the org's origin by the pipeline: the token goes nowhere else.
    const session = new URL(location, core.config.origin).href
    for (let from = 0; from < source.size; from += chunkSize) {
      const to = Math.min(from + chunkSize, source.size)
      // Learn: each chunk is PATCHed to Location with Content-Range `bytes <start>-<end>/<size>`, Content-Type
      // application/octet-stream and x-ms-file-name; 206 PartialContent while incomplete, 204 NoContent at the end.
      // Retried like any idempotent request (429, 502-504, a dropped connection): Dataverse takes a chunk once, so a
      // repeat of one it already has is refused, and the upload fails with that answer rather than store a wrong file.
      const result = await core.send({
        method: 'PATCH',
        path: session,
        headers: headersFor(options, {
          'content-type': OCTET_STREAM,
          'content-range': `bytes ${from}-${to - 1}/${source.size}`,
          ...(ASCII_NAME.test(name) ? { 'x-ms-file-name': name } : {}),
        }),
        body: await source.read(from, to),
        idempotent: true,
        ...common(options),
      })
      const last = to === source.size
      if (result.status !== (last ? 204 : 206))
        throw invalid(
          `PATCH ${path}: Dataverse answered ${result.status} to the chunk ending at byte ${to - 1} of ${source.size}; expected ${last ? 204 : 206}.`,
          'PATCH',
          path,
          result.status,
        )
    }
  }

  return {
    async uploadFile(entitySet, key, column, data, options) {
      const path = columnPath(entitySet, key, column)
      const name = options?.fileName
      if (typeof name !== 'string' || name.trim() === '' || /[\r\n]/.test(name))
        throw new DataverseError(
          'INVALID_ARGUMENT',
          'uploadFile needs options.fileName, a file name on one line.',
        )
      const source = sourceOf(data)
      const chunked =
        source.size > 0 &&
        (options.chunked === true || source.size >= SINGLE_UPLOAD_LIMIT || !ASCII_NAME.test(name))
      if (chunked) return uploadChunked(path, source, options)
      // Learn: PATCH the column with Content-Type application/octet-stream and x-ms-file-name → 204 NoContent.
      await core.send({
        method: 'PATCH',
        path,
        headers: headersFor(options, { 'content-type': OCTET_STREAM, 'x-ms-file-name': name }),
        body: await source.read(0, source.size),
        // Uploading the same file again leaves the same file: safe to repeat.
        idempotent: true,
        ...common(options),
      })
    },

    async downloadFile(entitySet, key, column, options) {
      const path = `${columnPath(entitySet, key, column)}/$value`
      const get = (range: string | undefined) =>
        core.send({
          method: 'GET',
          path,
          headers: headersFor(options, range ? { range } : {}),
          binary: true,
          idempotent: true,
          ...common(options),
        })
      const parts: Uint8Array[] = []
      let received = 0
      let total: number | undefined
      let first: Awaited<ReturnType<typeof get>> | undefined
      do {
        const ranged = options?.chunked !== false
        const result = await get(ranged ? `bytes=${received}-${received + DOWNLOAD_CHUNK - 1}` : undefined)
        first ??= result
        const size = Number(result.header('x-ms-file-size'))
        const bytes = result.bytes ?? new Uint8Array(0)
        if (!Number.isSafeInteger(size) || size < 0 || (total !== undefined && size !== total))
          throw invalid(`GET ${path}: the response has no usable x-ms-file-size.`, 'GET', path, result.status)
        total = size
        // 200 is the whole file (no Range sent, or Dataverse chose to answer it whole); 206 is the range asked for.
        if (result.status === 200 && received === 0) {
          parts.push(bytes)
          received = bytes.byteLength
          break
        }
        const expected = Math.min(DOWNLOAD_CHUNK, total - received)
        if (result.status !== 206 || bytes.byteLength !== expected)
          throw invalid(
            `GET ${path}: expected ${expected} bytes from byte ${received} (206), got ${bytes.byteLength} (${result.status}).`,
            'GET',
            path,
            result.status,
          )
        parts.push(bytes)
        received += bytes.byteLength
      } while (received < total)
      if (received !== total)
        throw invalid(`GET ${path}: received ${received} of the ${total} bytes announced.`, 'GET', path)
      const data = new Uint8Array(received)
      let at = 0
      for (const p of parts) {
        data.set(p, at)
        at += p.byteLength
      }
      const fileName = (first?.header('x-ms-file-name') ?? '').replace(/^"(.*)"$/, '$1')
      return { data, fileName, fileSize: received, mimeType: first?.header('mimetype') }
    },

    async deleteFile(entitySet, key, column, options) {
      // Learn, Use file column data § Send DELETE request to the file column: 204 NoContent.
      await core.send({
        method: 'DELETE',
        path: columnPath(entitySet, key, column),
        headers: headersFor(options),
        idempotent: true,
        ...common(options),
      })
    },
  }
}
