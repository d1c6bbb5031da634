import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { readStateCa, trustEmulatorCa, untrustEmulatorCa } from './trust-store.ts'

export const trustUsage = `Usage: dataverse-s2s-emulator trust|untrust [options]

Installs (or removes) the emulator's CA where browsers and TLS tools look, like mkcert: the NSS database that
Chromium reads on Linux (with certutil from libnss3-tools) and the system store (update-ca-certificates, as root).

Options:
  --state <dir>     State folder whose tls/ca.pem to trust (default ./.emulator).
  --nss-db <dir>    NSS database folder (default ~/.pki/nssdb).
  --no-system       Leave the system store alone.
`

/** `trust` / `untrust`: returns the lines to print. */
export function runTrustCommand(command: 'trust' | 'untrust', args: string[]): string[] {
  const { values } = parseArgs({
    args,
    options: {
      state: { type: 'string' },
      'nss-db': { type: 'string' },
      'no-system': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  })
  if (values.help) return [trustUsage]
  // `pnpm emulator trust --state apps/…` runs in packages/emulator: a path given is relative to where the user
  // typed it (pnpm's INIT_CWD).
  const base = values.state ? (process.env.INIT_CWD ?? process.cwd()) : process.cwd()
  const ca = readStateCa(resolve(base, values.state ?? '.emulator'))
  const options = {
    caCertPem: ca.pem,
    system: values['no-system'] !== true,
    ...(values['nss-db'] ? { nssDb: resolve(process.env.INIT_CWD ?? process.cwd(), values['nss-db']) } : {}),
  }
  const report = command === 'trust' ? trustEmulatorCa(options) : untrustEmulatorCa(options)
  return [
    `${command === 'trust' ? 'Trusted' : 'Untrusted'}: ${report.nickname} (${ca.file})`,
    `  browsers (NSS): ${report.nss}`,
    `  system store:   ${report.system}`,
    `  Node:           ${report.node}`,
  ]
}
