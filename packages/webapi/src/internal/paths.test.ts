import { describe, expect, it } from 'vitest'
import { refusal } from '../../test/refusal.ts'
import { guid } from '../filter.ts'
import { checkName, checkQualifiedName, formatKey, idFromEntityId, recordPath } from './paths.ts'

// The path guards: nothing a caller passes as a table, column or key can add path or query syntax to a request.
const ID = '5f1a0e2c-7b3d-4c1e-9a2b-0123456789ab'

describe('checkName: a table, column or key property name', () => {
  it('accepts letters, digits and _ not starting with a digit', () => {
    for (const ok of ['accounts', 'new_widget2', '_x', 'A']) expect(checkName(ok, 'Entity set')).toBe(ok)
  })

  it('refuses anything that could carry syntax, quoting the name (cut at 80 characters) and saying what to use', () => {
    for (const bad of [
      'accounts?$top=1',
      'accounts(1)',
      'a/b',
      '1accounts',
      'x.y',
      '',
      ' accounts',
      'accounts ',
    ]) {
      expect(refusal(() => checkName(bad, 'Entity set'))).toEqual({
        code: 'INVALID_ARGUMENT',
        message: `Entity set ${JSON.stringify(bad)} is not a valid name; use the logical/entity set name (letters, digits, _).`,
      })
    }
    const long = `a${'-'.repeat(200)}`
    expect(refusal(() => checkName(long, 'Column')).message).toBe(
      `Column ${JSON.stringify(long).slice(0, 80)} is not a valid name; use the logical/entity set name (letters, digits, _).`,
    )
    expect(refusal(() => checkName(42 as never, 'Column')).message).toMatch(
      /^Column "42" is not a valid name/,
    )
  })
})

describe('checkQualifiedName: an action or function name', () => {
  it('accepts dotted names and refuses syntax, naming what was wrong', () => {
    expect(checkQualifiedName('Microsoft.Dynamics.CRM.WhoAmI', 'Action')).toBe(
      'Microsoft.Dynamics.CRM.WhoAmI',
    )
    expect(checkQualifiedName('new_DoIt', 'Action')).toBe('new_DoIt')
    for (const bad of ['WhoAmI()', 'a..b', 'a.', '.a', 'a.1b', 'x/y', 'a.b?c', 'ok.b c']) {
      expect(refusal(() => checkQualifiedName(bad, 'Function'))).toEqual({
        code: 'INVALID_ARGUMENT',
        message: `Function ${JSON.stringify(bad)} is not a valid name.`,
      })
    }
    expect(refusal(() => checkQualifiedName(undefined as never, 'Function')).message).toBe(
      'Function "undefined" is not a valid name.',
    )
  })
})

describe('formatKey: a record key', () => {
  it('passes a GUID and a batch Content-ID reference ($n) through', () => {
    expect(formatKey(ID)).toBe(ID)
    expect(formatKey('$12')).toBe('$12')
  })

  it('refuses any other string, with how to pass an alternate key', () => {
    for (const bad of ['$', '$1a', 'a$1', '$x', `${ID})`, "name='x'"]) {
      expect(refusal(() => formatKey(bad))).toEqual({
        code: 'INVALID_ARGUMENT',
        message:
          'A record key string must be a GUID; pass an alternate key as an object, e.g. { accountnumber: "A-1" }.',
      })
    }
  })

  it('refuses a key that is neither a string nor an object, and an empty alternate key', () => {
    for (const bad of [null, 42, true, undefined]) {
      expect(refusal(() => formatKey(bad as never))).toEqual({
        code: 'INVALID_ARGUMENT',
        message: 'A record key must be a GUID string or an alternate-key object.',
      })
    }
    expect(refusal(() => formatKey({}))).toEqual({
      code: 'INVALID_ARGUMENT',
      message: 'An alternate key needs at least one property.',
    })
  })

  it('writes alternate keys as name=literal pairs joined by commas, and checks each name', () => {
    expect(formatKey({ accountnumber: 'A-1', n: 2, b: false, g: guid(ID), z: null })).toBe(
      `accountnumber='A-1',n=2,b=false,g=${ID},z=null`,
    )
    expect(refusal(() => formatKey({ 'name)/x': 'v' })).message).toMatch(
      /^Key property "name\)\/x" is not a valid name/,
    )
  })

  it('percent-encodes URL structure, spaces and non-ASCII in key values as UTF-8, keeping the quotes', () => {
    expect(formatKey({ name: 'a/b?c#d&e%f\\g+h i' })).toBe("name='a%2Fb%3Fc%23d%26e%25f%5Cg%2Bh%20i'")
    expect(formatKey({ city: 'Zürich Straße' })).toBe("city='Z%C3%BCrich%20Stra%C3%9Fe'")
    expect(formatKey({ city: 'Gdańsk 😀' })).toBe("city='Gda%C5%84sk%20%F0%9F%98%80'")
    expect(formatKey({ tab: 'a\tb' })).toBe("tab='a%09b'")
  })

  it('refuses an unpaired surrogate in a key value (not text), and accepts a paired one', () => {
    const message =
      'An alternate key value contains an unpaired surrogate (not valid Unicode text); fix the value before sending it.'
    for (const bad of ['a\uD800', '\uDC00b', '\uDC00\uD800']) {
      expect(refusal(() => formatKey({ name: bad }))).toEqual({ code: 'INVALID_ARGUMENT', message })
    }
    expect(formatKey({ name: '\uD83D\uDE00' })).toBe("name='%F0%9F%98%80'")
  })
})

describe('recordPath and idFromEntityId', () => {
  it('recordPath is set(key), or the Content-ID reference alone', () => {
    expect(recordPath('accounts', ID)).toBe(`accounts(${ID})`)
    expect(recordPath('accounts', { accountnumber: 'A-1' })).toBe("accounts(accountnumber='A-1')")
    expect(recordPath('accounts', '$3')).toBe('$3')
    expect(recordPath('accounts', '$12')).toBe('$12')
    expect(refusal(() => recordPath('accounts', 'a$1')).code).toBe('INVALID_ARGUMENT')
    expect(refusal(() => recordPath('accounts', '$3x')).code).toBe('INVALID_ARGUMENT')
    expect(refusal(() => recordPath('accounts/x', ID)).message).toMatch(/^Entity set "accounts\/x"/)
  })

  it('idFromEntityId reads the key at the end of an OData-EntityId header', () => {
    expect(idFromEntityId(`https://org.crm.dynamics.com/api/data/v9.2/accounts(${ID})`)).toBe(ID)
    expect(idFromEntityId(`https://org/api/data/v9.2/accounts(${ID}) `)).toBe(ID)
    expect(idFromEntityId(`https://org/api/data/v9.2/accounts(${ID})/x`)).toBeUndefined()
    expect(idFromEntityId('https://org/api/data/v9.2/accounts')).toBeUndefined()
    // named by an alternate key (Learn: Use Upsert to Create or Update a record): no id to read
    expect(idFromEntityId("https://org/api/data/v9.2/accounts(accountnumber='A-1')")).toBeUndefined()
    expect(
      idFromEntityId('https://org/api/data/v9.2/example_records(example_key1=2,example_key2=2)'),
    ).toBeUndefined()
    expect(idFromEntityId('')).toBeUndefined()
    expect(idFromEntityId(undefined)).toBeUndefined()
  })
})
