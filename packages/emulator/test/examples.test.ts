import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const root = join(import.meta.dirname, '..')

describe('README examples', () => {
  it('the vitest globalSetup example runs: workers trust the emulator through NODE_EXTRA_CA_CERTS', {
    timeout: 120_000,
  }, async () => {
    const vitest = join(root, '..', '..', 'node_modules', '.bin', 'vitest')
    const { stdout } = await promisify(execFile)(vitest, ['run', '--config', 'examples/vitest.config.ts'], {
      cwd: root,
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
    })
    expect(stdout).toMatch(/Tests\s+1 passed/)
  })
})
