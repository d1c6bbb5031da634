import { afterEach } from 'vitest'
import { createDataverseClient, type DataverseClient } from '../../src/index.ts'
import { guarded } from '../runaway.ts'
import { type Recorded, type Reply, startRecordingServer } from './recording-server.ts'

// Every conformance file sends one operation through the real client (Node transport) to a plain recording server;
// a server is closed when the next one starts and after each case.
let close: (() => Promise<void>) | undefined
async function closeServer(): Promise<void> {
  await close?.()
  close = undefined
}
afterEach(closeServer)

/** A recording server answering with `answer`, closed when the next starts or the case ends. */
export async function serve(answer: (request: Recorded, index: number) => Reply) {
  await closeServer()
  const server = await startRecordingServer(answer)
  close = server.close
  return server
}

/** Runs `run` with a client of a fresh recording server that answers with `answer`; returns what it recorded. */
export async function record(
  answer: (request: Recorded, index: number) => Reply,
  run: (client: DataverseClient, origin: string) => Promise<unknown>,
): Promise<{ requests: Recorded[]; result: unknown; origin: string }> {
  const server = await serve(answer)
  const client = guarded(createDataverseClient({ url: server.origin, getToken: () => 'tok', retry: false }))
  const result = await run(client, server.origin)
  return { requests: server.requests, result, origin: server.origin }
}

/** A `$batch` answer with no parts, for cases that only look at the request. */
export const emptyBatchResponse: Reply = {
  status: 200,
  headers: { 'content-type': 'multipart/mixed; boundary=batchresponse_1' },
  body: '--batchresponse_1--\r\n',
}

/** The embedded requests of a batch body: part headers, request line, headers and body of each. */
export function embedded(r: Recorded): { part: string; line: string; headers: string[]; body: string }[] {
  const out: { part: string; line: string; headers: string[]; body: string }[] = []
  for (const chunk of r.body.split(/\r\n--(?:batch|changeset)_[0-9a-f]+(?:--)?\r\n/)) {
    const [part = '', request = '', ...rest] = chunk.split('\r\n\r\n')
    if (!/^Content-Type: application\/http/m.test(part)) continue
    const [line = '', ...headers] = request.split('\r\n')
    out.push({ part, line, headers, body: rest.join('\r\n\r\n').trim() })
  }
  return out
}
