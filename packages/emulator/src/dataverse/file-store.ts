import { randomBytes } from 'node:crypto'
import type { Store } from './store.ts'

/** A stored file: what a file column's id points to. */
export interface StoredFile {
  data: Uint8Array
  name: string
  mimeType: string
}

/** A chunked upload in progress (Learn, Use file column data § Upload the file in chunks using Web API). */
export interface UploadSession {
  token: string
  table: string
  rowId: string
  column: string
  /** The authenticated caller and the effective user: a token is only good for whoever started the session. */
  callerId: string
  userId: string
  fileName: string
  expiresAt: number
  /** Set by the first chunk's Content-Range; every later chunk must name the same total. */
  total: number | undefined
  received: number
  chunks: Uint8Array[]
}

export interface FileStore {
  files: Map<string, StoredFile>
  sessions: Map<string, UploadSession>
}

// Keyed by the org's row store, which a reset or restore replaces: files and sessions go with the rows they belong to.
const stores = new WeakMap<Store, FileStore>()

export function fileStoreOf(store: Store): FileStore {
  let files = stores.get(store)
  if (!files) {
    files = { files: new Map(), sessions: new Map() }
    stores.set(store, files)
  }
  return files
}

export function newSessionToken(): string {
  return randomBytes(32).toString('base64url')
}

const MIME_TYPES: Record<string, string> = {
  txt: 'text/plain',
  csv: 'text/csv',
  htm: 'text/html',
  html: 'text/html',
  json: 'application/json',
  xml: 'application/xml',
  pdf: 'application/pdf',
  zip: 'application/zip',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  svg: 'image/svg+xml',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
}

/**
 * The `PATCH` upload forms carry no MIME type (only `CommitFileBlocksUpload` takes one), yet downloads answer a
 * `mimetype` header: Dataverse derives it from the file name, as the emulator does from the extension.
 */
export function mimeTypeOf(fileName: string): string {
  const dot = fileName.lastIndexOf('.')
  return (
    (dot < 0 ? undefined : MIME_TYPES[fileName.slice(dot + 1).toLowerCase()]) ?? 'application/octet-stream'
  )
}
