// The Redis and PostgreSQL tests need both servers on loopback (Redis 127.0.0.1:6379, PostgreSQL 127.0.0.1:5432 with
// trust auth for the postgres user). When one does not answer and we run as root, install it with apt and start it
// (PostgreSQL as the postgres user: it refuses to run as root); otherwise say what to do. Nothing is kept on disk
// by Redis.
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, readdirSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'

const REDIS_PORT = 6379
const PG_PORT = 5432

/** Resolves true when something accepts a TCP connection on 127.0.0.1:`port` within `ms`. */
export function listening(port, ms = 1000) {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port })
    const done = (ok) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(ms, () => done(false))
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
  })
}

async function waitFor(port, what, seconds = 30) {
  for (let i = 0; i < seconds * 10; i++) {
    if (await listening(port, 200)) return
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`${what} did not start listening on 127.0.0.1:${port} within ${seconds} s.`)
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
let updated = false
function aptInstall(pkg) {
  if (!updated) execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env })
  updated = true
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', pkg], { stdio: 'inherit', env })
}

async function ensureRedis() {
  if (await listening(REDIS_PORT)) return
  if (!isRoot()) {
    throw new Error(
      `Redis is not running on 127.0.0.1:${REDIS_PORT}. Install and start it ("sudo apt-get install -y redis-server", then "redis-server --daemonize yes --save ''"), or run this as root.`,
    )
  }
  if (!existsSync('/usr/bin/redis-server')) {
    console.log('Installing Redis for the scale-out tests (apt-get)...')
    aptInstall('redis-server')
  }
  spawn(
    '/usr/bin/redis-server',
    ['--port', String(REDIS_PORT), '--bind', '127.0.0.1', '--save', '', '--daemonize', 'yes'],
    {
      stdio: 'ignore',
    },
  ).unref()
  await waitFor(REDIS_PORT, 'Redis')
}

function pgBin(name) {
  const root = '/usr/lib/postgresql'
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : []
  for (const v of versions) if (existsSync(`${root}/${v}/bin/${name}`)) return `${root}/${v}/bin/${name}`
  return undefined
}

async function ensurePostgres() {
  if (await listening(PG_PORT)) return
  if (!isRoot()) {
    throw new Error(
      `PostgreSQL is not running on 127.0.0.1:${PG_PORT}. Install and start it ("sudo apt-get install -y postgresql", trust auth for 127.0.0.1), or run this as root.`,
    )
  }
  if (!pgBin('initdb')) {
    console.log('Installing PostgreSQL for the scale-out tests (apt-get)...')
    aptInstall('postgresql')
  }
  const initdb = pgBin('initdb')
  const pgCtl = pgBin('pg_ctl')
  if (!initdb || !pgCtl)
    throw new Error('PostgreSQL was installed but initdb/pg_ctl were not found under /usr/lib/postgresql.')
  // A cluster of our own, owned by postgres, trusting loopback: the Debian cluster may not exist or may ask for passwords.
  const data = '/var/lib/postgresql/dataverse-s2s-test'
  const asPostgres = (cmd, args) =>
    execFileSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { stdio: 'inherit' })
  if (!existsSync(`${data}/PG_VERSION`)) {
    execFileSync('install', ['-d', '-o', 'postgres', '-g', 'postgres', '-m', '700', data])
    asPostgres(initdb, ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8'])
    writeFileSync(
      '/tmp/dvs2s-pg-conf',
      `listen_addresses = '127.0.0.1'\nport = ${PG_PORT}\nunix_socket_directories = '/tmp'\n`,
    )
    execFileSync('sh', ['-c', `cat /tmp/dvs2s-pg-conf >> ${data}/postgresql.conf`])
  }
  asPostgres(pgCtl, ['-D', data, '-l', `${data}/server.log`, '-w', 'start'])
  await waitFor(PG_PORT, 'PostgreSQL')
  for (const db of ['test', 'root']) {
    try {
      asPostgres(pgBin('createdb') ?? 'createdb', ['-h', '127.0.0.1', '-U', 'postgres', db])
    } catch {
      // already there
    }
  }
}

/** Makes sure Redis and PostgreSQL answer on loopback, installing and starting them as root when missing. */
export async function ensureServices() {
  await ensureRedis()
  await ensurePostgres()
}

if (import.meta.url === `file://${process.argv[1]}`) await ensureServices()
