import { describe, expect, it } from 'vitest'
import { redact, safeLogger } from './logger.ts'

describe('redact', () => {
  it('removes JWTs, sensitive form parameters and literal secrets', () => {
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJ0aWQiOiJ4In0.c2lnbmF0dXJl'
    const out = redact(`token ${jwt} body client_secret=abc123&client_assertion=zzz and my-literal-secret`, [
      'my-literal-secret',
    ])
    expect(out).toBe(
      'token [redacted-jwt] body client_secret=[redacted]&client_assertion=[redacted] and [redacted]',
    )
  })
})

describe('safeLogger', () => {
  it('redacts messages and string fields, and survives a throwing logger', () => {
    const lines: unknown[] = []
    const log = safeLogger({ warn: (m, f) => lines.push([m, f]) }, () => ['s3cr3t-value'])
    log.warn('failed with s3cr3t-value', { detail: 'eyJhbGciOiJSUzI1NiJ9.eyJ0aWQiOiJ4In0.c2ln', n: 1 })
    expect(lines).toEqual([['failed with [redacted]', { detail: '[redacted-jwt]', n: 1 }]])
    const broken = safeLogger(
      {
        error: () => {
          throw new Error('logger down')
        },
      },
      () => [],
    )
    expect(() => broken.error('x')).not.toThrow()
    expect(() => safeLogger(undefined, () => []).info('x')).not.toThrow()
  })
})
