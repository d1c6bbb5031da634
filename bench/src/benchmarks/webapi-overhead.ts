// Per-request throughput of @dataverse-s2s/webapi against dynamics-web-api and raw fetch, for a small GET,
// with the server in a separate process (so server and clients do not share an event loop).
// Cases run interleaved over several rounds; the median of each case is reported.
import { type ChildProcess, spawn } from 'node:child_process'
import { createDataverseClient } from '@dataverse-s2s/webapi'
import { DynamicsWebApi } from 'dynamics-web-api'
import type { BenchmarkResult } from '../report.ts'

const ID = '11111111-2222-3333-4444-555555555555'
const WORKERS = 16
// Short slices, many rounds: on a shared machine the load changes by the second, so each ratio is taken within a
// round (cases measured back to back) and the median of those per-round ratios is reported.
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 500)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 32)

const SERVER = `
import http from 'node:http'
const body = JSON.stringify({
  '@odata.context': 'http://127.0.0.1/api/data/v9.2/$metadata#accounts(name)/$entity',
  '@odata.etag': 'W/"4711"', accountid: '${ID}', name: 'Contoso Ltd',
})
const server = http.createServer((req, res) => {
  req.resume()
  res.writeHead(200, { 'content-type': 'application/json; odata.metadata=minimal', 'odata-version': '4.0', 'content-length': Buffer.byteLength(body) })
  res.end(body)
})
server.keepAliveTimeout = 120000
server.listen(0, '127.0.0.1', () => console.log(server.address().port))
`

async function startServer(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', SERVER], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const port = await new Promise<string>((resolve, reject) => {
    child.once('error', reject)
    child.stdout?.once('data', (d: Buffer) => resolve(d.toString().trim()))
  })
  return { url: `http://127.0.0.1:${port}`, child }
}

/** Requests per second, and this process's CPU time per request (the client's whole cost: ours + fetch). */
async function measure(call: () => Promise<unknown>): Promise<{ rps: number; cpuUs: number }> {
  let done = 0
  const until = performance.now() + DURATION_MS
  const start = performance.now()
  const cpu = process.cpuUsage()
  await Promise.all(
    Array.from({ length: WORKERS }, async () => {
      while (performance.now() < until) {
        await call()
        done++
      }
    }),
  )
  const used = process.cpuUsage(cpu)
  return { rps: done / ((performance.now() - start) / 1000), cpuUs: (used.user + used.system) / done }
}

export async function run(): Promise<BenchmarkResult> {
  const { url, child } = await startServer()
  try {
    const getToken = async () => 'bench-token'
    const ours = createDataverseClient({ url, getToken, concurrency: 52 })
    const oursFetch = createDataverseClient({ url, getToken, concurrency: 52, fetch: globalThis.fetch })
    const dwa = new DynamicsWebApi({ serverUrl: url, dataApi: { version: '9.2' }, onTokenRefresh: getToken })
    const target = `${url}/api/data/v9.2/accounts(${ID})?$select=name`
    // Exactly the headers ours sends for this read (client.ts base headers + If-None-Match: null on a GET).
    const headers = {
      authorization: 'Bearer bench-token',
      accept: 'application/json',
      'odata-version': '4.0',
      'odata-maxversion': '4.0',
      'user-agent': 'dataverse-s2s-webapi',
      'if-none-match': 'null',
    }
    const cases: Record<string, () => Promise<unknown>> = {
      'ours (Node transport: undici)': () => ours.retrieve('accounts', ID, { select: ['name'] }),
      'dynamics-web-api 2.5.0 (node:http keep-alive)': () =>
        dwa.retrieve({ collection: 'accounts', key: ID, select: ['name'] }),
      'raw global fetch': async () => (await fetch(target, { headers })).json(),
      'ours with injected fetch (global fetch)': () =>
        oursFetch.retrieve('accounts', ID, { select: ['name'] }),
    }
    const samples: Record<string, number[]> = {}
    const cpu: Record<string, number[]> = {}
    for (const [name, call] of Object.entries(cases)) {
      await measure(call) // warm-up: connections, JIT
      samples[name] = []
      cpu[name] = []
    }
    // The order rotates every round, so no case always runs right after the same neighbour (GC, socket churn).
    const names = Object.keys(cases)
    for (let round = 0; round < ROUNDS; round++) {
      for (let j = 0; j < names.length; j++) {
        const name = names[(round + j) % names.length] as string
        const m = await measure(cases[name] as () => Promise<unknown>)
        samples[name]?.push(m.rps)
        cpu[name]?.push(m.cpuUs)
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number
    const rps = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]))
    const r = (a: string, b: string) =>
      median((samples[a] as number[]).map((x, i) => x / ((samples[b] as number[])[i] as number)))
    const vsDwa = r('ours (Node transport: undici)', 'dynamics-web-api 2.5.0 (node:http keep-alive)')
    const vsFetch = r('ours with injected fetch (global fetch)', 'raw global fetch')
    return {
      rows: Object.entries(samples).map(([name, xs]) => ({
        case: name,
        'req/s (median)': Math.round(rps[name] as number),
        'req/s min': Math.round(Math.min(...xs)),
        'req/s max': Math.round(Math.max(...xs)),
        'client CPU µs/req (median)': Math.round(median(cpu[name] as number[]) * 10) / 10,
      })),
      ratios: {
        'ours (undici) / dynamics-web-api': vsDwa,
        'ours (injected fetch) / same fetch raw': vsFetch,
        'dynamics-web-api / raw global fetch': r(
          'dynamics-web-api 2.5.0 (node:http keep-alive)',
          'raw global fetch',
        ),
        'ours (undici) / raw global fetch': r('ours (Node transport: undici)', 'raw global fetch'),
        // The same comparison by CPU time per request in this (client) process: unlike a rate, it does not move
        // with the server's scheduling, so it shows the cost of our code with less noise.
        'client CPU per request: raw global fetch / ours (injected fetch)': median(
          (cpu['raw global fetch'] as number[]).map(
            (x, i) => x / ((cpu['ours with injected fetch (global fetch)'] as number[])[i] as number),
          ),
        ),
      },
      targets: {
        'ours (Node) vs dynamics-web-api': {
          target: '>= 1.2x',
          value: Number(vsDwa.toFixed(2)),
          met: vsDwa >= 1.2,
        },
        'ours (injected fetch) vs that fetch raw': {
          target: '>= 0.95x',
          value: Number(vsFetch.toFixed(2)),
          met: vsFetch >= 0.95,
        },
      },
      notes: [
        `GET accounts(id)?$select=name, ${WORKERS} concurrent callers, ${ROUNDS} interleaved rounds (order rotating) of ${DURATION_MS} ms after a warm-up, ratios = median of per-round ratios; HTTP/1.1 keep-alive server (node:http) in a child process.`,
        'Every client sends the OData headers and a bearer token from an async getToken; raw fetch sends exactly the request ours sends (User-Agent and the documented If-None-Match: null included), so the ratio is the cost of our code alone; ours also runs its limiter, retry and timeout per request.',
        'ours runs from its built dist, as installed (`pnpm bench` builds the packages first): run from source through tsx, every closure pays for a name helper.',
      ],
    }
  } finally {
    child.kill()
  }
}
