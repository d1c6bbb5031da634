/**
 * Request-size bounds of the emulator's servers. Neither Entra ID nor Dataverse publishes a request-body limit; both
 * answer 413 when their front ends refuse one. The emulator keeps its memory bounded: Entra's forms are small, and an
 * org's largest legitimate bodies (a $batch of 1,000 operations, CreateMultiple, a 4 MB file chunk) stay far below
 * its bound.
 */
export const MAX_ENTRA_BODY_BYTES = 1024 * 1024
export const MAX_ORG_BODY_BYTES = 32 * 1024 * 1024

/** Whether the request declares (Content-Length) a body above `maxBytes`, or a length that is not a number. */
export function declaresTooLarge(request: Request, maxBytes: number): boolean {
  const declared = request.headers.get('content-length')
  return declared !== null && !(/^\d{1,15}$/.test(declared) && Number(declared) <= maxBytes)
}

/** The body's bytes, counted as they stream; undefined as soon as they pass `maxBytes` (the rest is not read). */
export async function readBytesWithin(request: Request, maxBytes: number): Promise<Buffer | undefined> {
  if (!request.body) return Buffer.alloc(0)
  const reader = request.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > maxBytes) {
      await reader.cancel().catch(() => {})
      return undefined
    }
    chunks.push(value)
  }
  return Buffer.concat(chunks, size)
}
