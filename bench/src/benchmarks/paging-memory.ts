// Peak memory of reading 200,000 rows: ours (queryAll, one page at a time) beside dynamics-web-api's retrieveAll
// (buffers every page). The server and each client run in their own processes, so each RSS is the client's alone.
import { type ChildProcess, spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { BenchmarkResult } from '../report.ts'

const ROWS = Number(process.env.BENCH_ROWS ?? 200_000)
const PAGE = 5000
const benchDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

// Pages are generated on the fly: nextLink carries the next offset in $skiptoken, like Dataverse's paging cookie.
const SERVER = `
import http from 'node:http'
const ROWS = ${ROWS}, PAGE = ${PAGE}
const server = http.createServer((req, res) => {
  req.resume()
  const url = new URL(req.url, 'http://x')
  const from = Number(url.searchParams.get('$skiptoken') ?? 0)
  const to = Math.min(ROWS, from + PAGE)
  const value = []
  for (let i = from; i < to; i++) value.push({
    '@odata.etag': 'W/"' + (1000 + i) + '"', contactid: '00000000-0000-4000-8000-' + String(i).padStart(12, '0'),
    fullname: 'Contact number ' + i, emailaddress1: 'contact' + i + '@example.com', telephone1: '+1 555 ' + String(i).padStart(7, '0'),
    jobtitle: 'Engineer', createdon: '2026-01-01T00:00:00Z', _parentcustomerid_value: '00000000-0000-4000-8000-000000000001',
  })
  const body = { '@odata.context': 'http://127.0.0.1/api/data/v9.2/$metadata#contacts', value }
  if (to < ROWS) body['@odata.nextLink'] = 'http://' + req.headers.host + '/api/data/v9.2/contacts?$select=fullname&$skiptoken=' + to
  const text = JSON.stringify(body)
  res.writeHead(200, { 'content-type': 'application/json; odata.metadata=minimal', 'content-length': Buffer.byteLength(text) })
  res.end(text)
})
server.listen(0, '127.0.0.1', () => console.log(server.address().port))
`

const CLIENT = (kind: 'ours' | 'dwa', url: string) => `
const url = ${JSON.stringify(url)}
const getToken = async () => 'bench-token'
// Load the client first: module code is not paging memory.
const { createDataverseClient } = await import('@dataverse-s2s/webapi')
const { DynamicsWebApi } = await import('dynamics-web-api')
globalThis.gc?.(); globalThis.gc?.()
const base = process.memoryUsage.rss()
let peak = base
const sample = () => { const r = process.memoryUsage.rss(); if (r > peak) peak = r }
const timer = setInterval(sample, 5)
const start = performance.now()
let rows = 0
if (${JSON.stringify(kind)} === 'ours') {
  const client = createDataverseClient({ url, getToken })
  for await (const row of client.queryAll('contacts', { select: ['fullname', 'emailaddress1'] })) {
    if (row.fullname) rows++
    if ((rows & 1023) === 0) sample()
  }
} else {
  const dwa = new DynamicsWebApi({ serverUrl: url, dataApi: { version: '9.2' }, onTokenRefresh: getToken })
  const all = await dwa.retrieveAll({ collection: 'contacts', select: ['fullname', 'emailaddress1'] })
  sample()
  for (const row of all.value) if (row.fullname) rows++
}
sample()
clearInterval(timer)
console.log(JSON.stringify({ rows, ms: performance.now() - start, growthMB: (peak - base) / 1048576, baseMB: base / 1048576 }))
`

function spawnNode(args: string[], cwd?: string): ChildProcess {
  return spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], ...(cwd ? { cwd } : {}) })
}

async function firstLine(child: ChildProcess): Promise<string> {
  let out = ''
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString()
      const nl = out.indexOf('\n')
      if (nl >= 0) resolve(out.slice(0, nl).trim())
    })
    child.once('exit', (code) => reject(new Error(`process exited with ${code} before printing`)))
  })
}

interface Measured {
  rows: number
  ms: number
  growthMB: number
  baseMB: number
}

async function measure(kind: 'ours' | 'dwa', url: string): Promise<Measured> {
  const child = spawnNode(
    [
      '--expose-gc',
      '--conditions=@dataverse-s2s/source',
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      CLIENT(kind, url),
    ],
    benchDir,
  )
  return JSON.parse(await firstLine(child)) as Measured
}

export async function run(): Promise<BenchmarkResult> {
  const server = spawnNode(['--input-type=module', '-e', SERVER])
  try {
    const url = `http://127.0.0.1:${await firstLine(server)}`
    const ours = await measure('ours', url)
    const dwa = await measure('dwa', url)
    const row = (name: string, m: Measured) => ({
      case: name,
      rows: m.rows,
      'peak RSS growth (MB)': Number(m.growthMB.toFixed(1)),
      'wall time (ms)': Math.round(m.ms),
      'rows/s': Math.round(m.rows / (m.ms / 1000)),
    })
    return {
      rows: [
        row('ours: queryAll (one page in memory)', ours),
        row('dynamics-web-api 2.5.0: retrieveAll (buffers all pages)', dwa),
      ],
      ratios: {
        'dynamics-web-api peak growth / ours': dwa.growthMB / Math.max(ours.growthMB, 0.1),
        'ours rows/s / dynamics-web-api rows/s': ours.rows / ours.ms / (dwa.rows / dwa.ms),
      },
      targets: {
        'ours: peak RSS growth over 200,000 rows': {
          target: '<= 64 MB',
          value: Number(ours.growthMB.toFixed(1)),
          met: ours.growthMB <= 64 && ours.rows === ROWS,
        },
      },
      notes: [
        `${ROWS.toLocaleString('en')} rows in pages of ${PAGE} (8 columns, ~260 bytes of JSON each) from a node:http server in a separate process; each client in its own fresh process (modules loaded before the baseline), RSS sampled every 5 ms and every 1,024 rows.`,
      ],
    }
  } finally {
    server.kill()
  }
}
