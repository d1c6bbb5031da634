// `export` in a pseudo-terminal (util-linux `script`): the progress bar redraws as pages arrive and ends at 100%.
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { baseEnv, command, createDataOrg, pkg, startWorld, type TestWorld } from './support.ts'

const ROWS = 20_000
let world: TestWorld
let org: { url: string; id: string }
const work = mkdtempSync(join(tmpdir(), 'cli-tty-'))

beforeAll(async () => {
  world = await startWorld()
  org = await createDataOrg(world, 'terminal')
  world.emulator.admin.org(org.id).data.insertRows(
    'new_item',
    Array.from({ length: ROWS }, (_, i) => ({ new_name: `item ${i}`, new_n: i })),
  )
  // each page takes a moment, as over a real network, so the bar (10 redraws a second) has time to redraw: 20 pages
  // of at least 60 ms each
  world.emulator.admin.injectFault({ scope: org.id, kind: 'latency', latencyMs: 60, path: 'new_items' })
})
afterAll(async () => {
  await world?.emulator.stop()
})

const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`

/** Runs the CLI with a terminal as stdin, stdout and stderr; resolves with everything the terminal showed. */
function inTerminal(args: string[], timeoutMs = 60_000): Promise<{ code: number | null; screen: string }> {
  const line = [...command, ...args].map(quote).join(' ')
  const child = spawn('script', ['-qfec', line, '/dev/null'], {
    cwd: pkg,
    env: { ...baseEnv(), TERM: 'xterm-256color', COLUMNS: '120', LINES: '30' },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let screen = ''
  child.stdout.on('data', (c: Buffer) => {
    screen += c.toString('utf8')
  })
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  return new Promise((resolve) => {
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, screen })
    })
  })
}

describe('in a terminal', () => {
  it('export draws a progress bar with rows, rate and ETA that updates and finishes', async () => {
    const out = join(work, 'items.csv')
    const { code, screen } = await inTerminal([
      'export',
      ...world.flags(org.url),
      '--table',
      'new_item',
      '--out',
      out,
      '--page-size',
      '1000',
    ])
    expect(code).toBe(0)
    const frames = [...screen.matchAll(/(\d+)% \| (\d+)\/(\d+) rows \| (\d+) rows\/s \| ETA (\S+)/g)]
    const counts = new Set(frames.map((f) => Number(f[2])))
    expect(counts.size).toBeGreaterThan(3)
    expect(frames.at(-1)?.slice(1, 4)).toEqual(['100', String(ROWS), String(ROWS)])
    expect(frames.some((f) => Number(f[4]) > 0)).toBe(true)
    expect(screen).toContain(`Exported ${ROWS} rows of new_item`)
    expect(readFileSync(out, 'utf8').trimEnd().split('\n')).toHaveLength(ROWS + 1)
  })

  it('query prints a table on a terminal', async () => {
    const { code, screen } = await inTerminal([
      'query',
      'new_items',
      ...world.flags(org.url),
      '--select',
      'new_name,new_n',
      '--top',
      '3',
      '--orderby',
      'new_n',
    ])
    expect(code).toBe(0)
    expect(screen).toMatch(/new_name\s+new_n\s+new_itemid/)
    expect(screen).toMatch(/item 0\s+0\s+[0-9a-f-]{36}/)
    expect(screen).toContain('(3 rows)')
  })
})
