import { describe, expect, it } from 'vitest'
import { openCursor, signCursor } from './cursor.ts'
import { cleanBody, tables } from './tables.ts'

describe('tables', () => {
  it('resolves only the tables it lists, never an inherited property name', () => {
    expect(tables.get('accounts')?.entitySet).toBe('accounts')
    expect(tables.get('contacts')?.entitySet).toBe('contacts')
    for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'systemusers']) {
      expect(tables.get(name), name).toBeUndefined()
    }
  })

  it('refuses inherited property names as columns', () => {
    const spec = tables.get('accounts')
    if (!spec) throw new Error('accounts')
    for (const key of ['constructor', '__proto__', 'toString', 'valueOf']) {
      expect(cleanBody(spec, JSON.parse(`{"name":"x","${key}":"y"}`), 'create'), key).toEqual({
        error: `"${key}" cannot be written here.`,
      })
    }
    expect(cleanBody(spec, { name: ' Contoso ' }, 'create')).toEqual({ row: { name: 'Contoso' } })
  })
})

describe('cursors', () => {
  const secret = 'a-test-secret-of-enough-length-0123456789'
  it('open only in the scope they were signed for', () => {
    const cursor = signCursor(
      secret,
      'tenant|carol|accounts|app|10',
      'https://org.example/api/data/v9.2/accounts?x',
    )
    expect(openCursor(secret, 'tenant|carol|accounts|app|10', cursor)).toBe(
      'https://org.example/api/data/v9.2/accounts?x',
    )
    expect(openCursor(secret, 'tenant|dave|accounts|app|10', cursor)).toBeUndefined()
    expect(
      openCursor('another-secret-of-enough-length-0123456789', 'tenant|carol|accounts|app|10', cursor),
    ).toBeUndefined()
    expect(openCursor(secret, 'tenant|carol|accounts|app|10', `${cursor}.x`)).toBeUndefined()
  })
})
