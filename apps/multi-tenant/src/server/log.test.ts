import { describe, expect, it } from 'vitest'
import { createLogger } from './log.ts'

describe('log lines', () => {
  it('keep their own time, level and message whatever the fields are called', () => {
    const lines: string[] = []
    const log = createLogger({ sink: (l) => lines.push(l) })
    log.error('unexpected error', {
      message: 'URI malformed',
      level: 'info',
      time: 'never',
      name: 'URIError',
    })
    const line = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>
    expect(line['message']).toBe('unexpected error')
    expect(line['level']).toBe('error')
    expect(line['time']).not.toBe('never')
    expect(line['name']).toBe('URIError')
  })

  it('redact a token and a literal secret in any field', () => {
    const lines: string[] = []
    const log = createLogger({ secrets: () => ['s3cret-value-123'], sink: (l) => lines.push(l) })
    log.warn('refused', { detail: 'Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln and s3cret-value-123' })
    expect(lines[0]).not.toContain('eyJhbGciOiJSUzI1NiJ9')
    expect(lines[0]).not.toContain('s3cret-value-123')
  })
})
