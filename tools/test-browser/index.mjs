// Launches Debian's chromium through playwright-core with the flags this offline machine needs:
// no sandbox (root), no background traffic to Google hosts, and every host but loopback unresolvable.
import { chromium } from 'playwright-core'
import { ensureChromium } from './ensure-chromium.mjs'

export const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1, EXCLUDE localhost',
]

/** @param {import('playwright-core').LaunchOptions} [options] */
export async function launchChromium(options = {}) {
  const executablePath = ensureChromium()
  return chromium.launch({ executablePath, headless: true, args: chromiumArgs, ...options })
}
