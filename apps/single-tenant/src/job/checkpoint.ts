import { randomBytes } from 'node:crypto'
import { constants, type FileHandle, open, rename, rm } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'

/** Where a report run stands: every byte of the output before `offset` holds rows up to and including `lastKey`. */
export interface Checkpoint {
  version: 1
  /** Identifies the query and format; a checkpoint from another query is ignored. */
  fingerprint: string
  lastKey: string | null
  offset: number
  /** Length in bytes of the last row before `offset` (the one carrying `lastKey`); 0 before the first row. */
  lastLineBytes: number
  rows: number
  startedAt: string
  updatedAt: string
}

/** Not following a symbolic link planted at one of the job's paths (0 where the platform has no such flag). */
export const NOFOLLOW = constants.O_NOFOLLOW ?? 0

/** Opens `path` for reading and writing, refusing a symbolic link (ELOOP). */
export function openExisting(path: string): Promise<FileHandle> {
  return open(path, constants.O_RDWR | NOFOLLOW)
}

/** Creates `path`, which must not exist (not even as a symbolic link): O_CREAT | O_EXCL | O_NOFOLLOW. */
export function createExclusive(path: string): Promise<FileHandle> {
  return open(path, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | NOFOLLOW, 0o644)
}

export type CheckpointRead = { ok: true; checkpoint: Checkpoint } | { ok: false; reason: string | undefined }

/** The checkpoint at `path`; `reason` says why one that exists cannot be used (undefined: there is none). */
export async function readCheckpoint(path: string, fingerprint: string): Promise<CheckpointRead> {
  let text: string
  try {
    const handle = await open(path, constants.O_RDONLY | NOFOLLOW)
    try {
      text = await handle.readFile('utf8')
    } finally {
      await handle.close()
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return { ok: false, reason: undefined }
    if (code === 'ELOOP') return { ok: false, reason: 'the checkpoint is a symbolic link' }
    throw error
  }
  let value: Partial<Checkpoint>
  try {
    value = JSON.parse(text) as Partial<Checkpoint>
  } catch {
    return { ok: false, reason: 'the checkpoint is not valid JSON' }
  }
  if (value?.fingerprint !== fingerprint) {
    return { ok: false, reason: 'the checkpoint belongs to another query, format or set of columns' }
  }
  const count = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0
  if (
    value.version !== 1 ||
    !(value.lastKey === null || (typeof value.lastKey === 'string' && value.lastKey.length > 0)) ||
    !count(value.offset) ||
    !count(value.lastLineBytes) ||
    !count(value.rows) ||
    (value.lastKey === null) !== (value.rows === 0) ||
    typeof value.startedAt !== 'string'
  ) {
    return { ok: false, reason: 'the checkpoint is incomplete or has fields of the wrong type' }
  }
  return { ok: true, checkpoint: value as Checkpoint }
}

/**
 * Checks a checkpoint against the partial output before it is trusted: the file is at least `offset` long, starts
 * with the header, and the row just before `offset` is a whole line (ends with a newline, follows the header or a
 * newline) whose key is `lastKey`. Returns why not, or undefined when it holds.
 */
export async function verifyAgainstOutput(
  file: FileHandle,
  checkpoint: Checkpoint,
  header: Buffer,
  keyOf: (line: string) => string | undefined,
): Promise<string | undefined> {
  const { size } = await file.stat()
  if (size < checkpoint.offset) return 'the partial output is shorter than its checkpoint'
  const start = Buffer.alloc(header.length)
  await file.read(start, 0, header.length, 0)
  if (!start.equals(header)) return 'the partial output does not start with the header'
  if (checkpoint.rows === 0) {
    return checkpoint.offset === header.length
      ? undefined
      : 'the checkpoint has no row but an offset past the header'
  }
  const length = checkpoint.lastLineBytes
  const from = checkpoint.offset - length
  if (length < 2 || length > 16 * 1024 * 1024 || from < header.length) {
    return 'the checkpoint gives an impossible length for the last row'
  }
  const line = Buffer.alloc(length)
  await file.read(line, 0, length, from)
  if (line[length - 1] !== 0x0a) return 'the byte before the checkpoint offset is not the end of a line'
  if (from > header.length) {
    const before = Buffer.alloc(1)
    await file.read(before, 0, 1, from - 1)
    if (before[0] !== 0x0a) return 'the last row of the checkpoint does not start a line'
  }
  const key = keyOf(line.toString('utf8'))
  if (key !== checkpoint.lastKey) return 'the row before the checkpoint offset does not carry its lastKey'
  return undefined
}

/**
 * Replaces the checkpoint atomically: the new content goes to a temporary file with an unpredictable name, created
 * exclusively (never through a planted link), flushed to disk and then renamed over the old one; the folder is
 * flushed so the rename itself survives a power cut. A reader sees the old checkpoint or the new one, never a mix.
 */
export async function writeCheckpoint(path: string, checkpoint: Checkpoint): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(12).toString('hex')}.tmp`)
  const handle = await createExclusive(temporary)
  try {
    await handle.writeFile(JSON.stringify(checkpoint))
    await handle.sync()
  } catch (error) {
    await handle.close()
    await rm(temporary, { force: true })
    throw error
  }
  await handle.close()
  await rename(temporary, path)
  await syncFolder(dirname(path))
}

export async function removeCheckpoint(path: string): Promise<void> {
  await rm(path, { force: true })
  await syncFolder(dirname(path))
}

export async function syncFolder(path: string): Promise<void> {
  // Windows cannot open a folder for fsync; there the rename is as durable as NTFS makes it.
  if (process.platform === 'win32') return
  const handle = await open(path, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}
