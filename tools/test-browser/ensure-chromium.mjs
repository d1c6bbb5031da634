// Browser tests drive Debian's chromium through playwright-core; install it when it is missing
// (as root, with apt) instead of letting a tool download a browser build, which cannot work offline.
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'

export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

export function ensureChromium() {
  if (existsSync(chromiumPath)) return chromiumPath
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error(
      `Chromium is not installed at ${chromiumPath}. Install it with "sudo apt-get install -y chromium" or set CHROMIUM_PATH.`,
    )
  }
  console.log('Installing Debian chromium for the browser tests (apt-get)...')
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env })
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'chromium'], {
    stdio: 'inherit',
    env,
  })
  return chromiumPath
}

if (import.meta.url === `file://${process.argv[1]}`) ensureChromium()
