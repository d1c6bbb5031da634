// Browser tests drive Debian's chromium through playwright-core; install it when it is missing
// (as root, with apt) instead of letting a tool download a browser build, which cannot work offline.
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'

export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

function hasCertutil() {
  try {
    execFileSync('certutil', ['-H'], { stdio: 'ignore' })
    return true
  } catch (error) {
    return error?.code !== 'ENOENT' // certutil -H exits non-zero, but it ran
  }
}

/**
 * Debian's chromium, and certutil (libnss3-tools) for the tests of `emulator trust`, which writes the CA into
 * Chromium's NSS database. Installed with apt when missing and running as root; otherwise a message says how.
 */
export function ensureChromium() {
  const missing = []
  if (!existsSync(chromiumPath)) missing.push('chromium')
  if (!hasCertutil()) missing.push('libnss3-tools')
  if (missing.length === 0) return chromiumPath
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error(
      `The browser tests need ${missing.join(' and ')}: install with "sudo apt-get install -y ${missing.join(' ')}"${missing.includes('chromium') ? ' or set CHROMIUM_PATH' : ''}.`,
    )
  }
  console.log(`Installing ${missing.join(' and ')} for the browser tests (apt-get)...`)
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env })
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], {
    stdio: 'inherit',
    env,
  })
  return chromiumPath
}

if (import.meta.url === `file://${process.argv[1]}`) ensureChromium()
