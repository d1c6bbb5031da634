// `pnpm start`: the multi-tenant sample with the embedded emulator, on one URL.
// Builds the SPA (vite), then runs the API server, which starts the emulator (Entra ID on https://localhost:8443,
// orgs from 8444) when no real Entra ID app is configured in apps/multi-tenant/.env, and serves SPA + API together.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const app = join(root, 'apps', 'multi-tenant')

if (!existsSync(join(app, 'node_modules'))) {
  console.error('Dependencies are missing: run `pnpm install` first.')
  process.exit(1)
}

const require = createRequire(join(app, 'package.json'))
const vite = join(dirname(require.resolve('vite/package.json')), 'bin', 'vite.js')
console.log('Building the SPA…')
const build = spawnSync(process.execPath, [vite, 'build', '--logLevel', 'warn'], {
  cwd: app,
  stdio: 'inherit',
})
if (build.status !== 0) process.exit(build.status ?? 1)

const server = spawn(
  process.execPath,
  ['--conditions=@dataverse-s2s/source', '--import', 'tsx', 'src/server/main.ts'],
  { cwd: app, stdio: 'inherit', env: process.env },
)
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.kill(signal))
server.on('exit', (code) => process.exit(code ?? 0))
