// `pnpm start`: the multi-tenant sample with the embedded emulator, on one URL.
// Builds the SPA (vite), then runs the API server, which starts the emulator (Entra ID on https://localhost:8443,
// orgs from 8444) when no real Entra ID app is configured in apps/multi-tenant/.env, and serves SPA + API together.
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { homedir } from 'node:os'
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

// Offer the trusted local CA (`pnpm emulator trust`) when the browser's NSS database does not hold the emulator's
// CA yet: without it, "Sign in" cannot reach the emulated Entra ID (the SPA then shows the same fix).
function emulatorCaTrusted(caFile) {
  if (!existsSync(caFile)) return false
  const fingerprint = new X509Certificate(readFileSync(caFile)).fingerprint256
    .replaceAll(':', '')
    .slice(0, 12)
  try {
    const db = `sql:${join(homedir(), '.pki', 'nssdb')}`
    execFileSync('certutil', ['-d', db, '-L', '-n', `Dataverse S2S Emulator CA ${fingerprint}`], {
      stdio: 'ignore',
    })
    return true
  } catch {
    return false
  }
}
// The sample's own settings (read here by `pnpm start`, not by any turbo task).
const { DATA_DIR: dataDir, ENTRA_CLIENT_ID: clientId } = process.env
const emulatorState = join(app, dataDir || '.data', 'emulator')
const dotenv = join(app, '.env')
const realEntra =
  Boolean(clientId) ||
  (existsSync(dotenv) && /^\s*ENTRA_CLIENT_ID\s*=\s*\S/m.test(readFileSync(dotenv, 'utf8')))
if (!realEntra && !emulatorCaTrusted(join(emulatorState, 'tls', 'ca.pem'))) {
  console.log(
    [
      '',
      'Your browser does not trust the emulator’s certificate yet, so "Sign in" cannot reach the emulated Entra ID.',
      'Once the server below is up, run in another terminal (needs certutil: sudo apt-get install libnss3-tools):',
      `  pnpm emulator trust --state ${emulatorState}`,
      'then restart the browser. (Or open https://localhost:8443 once and accept the certificate.)',
      '',
    ].join('\n'),
  )
}

const server = spawn(
  process.execPath,
  ['--conditions=@dataverse-s2s/source', '--import', 'tsx', 'src/server/main.ts'],
  { cwd: app, stdio: 'inherit', env: process.env },
)
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.kill(signal))
server.on('exit', (code) => process.exit(code ?? 0))
