import { open, readFile, rename, rm } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'

/** Where a report run stands: every byte of the output before `offset` holds rows up to and including `lastKey`. */
export interface Checkpoint {
  version: 1
  /** Identifies the query and format; a checkpoint from another query is ignored. */
  fingerprint: string
  lastKey: string | null
  offset: number
  rows: number
  startedAt: string
  updatedAt: string
}

export async function readCheckpoint(path: string, fingerprint: string): Promise<Checkpoint | undefined> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
  try {
    const value = JSON.parse(text) as Partial<Checkpoint>
    if (
      value.version !== 1 ||
      value.fingerprint !== fingerprint ||
      !(value.lastKey === null || typeof value.lastKey === 'string') ||
      !Number.isSafeInteger(value.offset) ||
      (value.offset ?? -1) < 0 ||
      !Number.isSafeInteger(value.rows) ||
      typeof value.startedAt !== 'string'
    ) {
      return undefined
    }
    return value as Checkpoint
  } catch {
    return undefined
  }
}

/**
 * Replaces the checkpoint atomically: the new content goes to a temporary file that is flushed to disk and then
 * renamed over the old one, and the folder is flushed so the rename itself survives a power cut. A reader sees
 * the old checkpoint or the new one, never a mix.
 */
export async function writeCheckpoint(path: string, checkpoint: Checkpoint): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`)
  const handle = await open(temporary, 'w')
  try {
    await handle.writeFile(JSON.stringify(checkpoint))
    await handle.sync()
  } finally {
    await handle.close()
  }
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
