import { describe, expect, it } from 'vitest'
import { cloudFromOrgUrl, defineCloud, isOrgUrlOfCloud, isTrustedLoginHost, resolveCloud } from './clouds.ts'
import { TokenError } from './errors.ts'

describe('clouds', () => {
  it.each([
    ['https://contoso.crm.dynamics.com', 'public'],
    ['https://contoso.crm4.dynamics.com/main.aspx', 'public'],
    ['https://contoso.api.crm11.dynamics.com', 'public'],
    ['https://contoso.crm9.dynamics.com', 'gcc'],
    ['https://contoso.api.crm9.dynamics.com', 'gcc'],
    ['https://contoso.crm.microsoftdynamics.us', 'gcc-high'],
    ['https://contoso.crm.appsplatform.us', 'dod'],
    ['https://contoso.crm.dynamics.cn', 'china'],
  ])('recognises %s as %s', (url, name) => {
    expect(cloudFromOrgUrl(url)?.name).toBe(name)
  })

  it.each([
    'https://evil.com',
    'https://contoso.crm.dynamics.com.evil.com',
    'https://crm.dynamics.com.cn',
    'nope',
  ])('recognises no cloud for %s', (url) => {
    expect(cloudFromOrgUrl(url)).toBeUndefined()
  })

  it('uses the right login hosts', () => {
    expect(resolveCloud('gcc').authorityHost).toBe('https://login.microsoftonline.com')
    expect(resolveCloud('gcc-high').authorityHost).toBe('https://login.microsoftonline.us')
    expect(resolveCloud('dod').authorityHost).toBe('https://login.microsoftonline.us')
    expect(resolveCloud('china').authorityHost).toBe('https://login.chinacloudapi.cn')
    expect(isTrustedLoginHost('login.windows.net', resolveCloud('public'))).toBe(true)
    expect(isTrustedLoginHost('login.microsoftonline.us', resolveCloud('public'))).toBe(false)
  })

  it('describes a custom cloud in one object and recognises its org URLs', () => {
    const emulator = defineCloud({ name: 'emulator', authorityHost: 'https://localhost:8443/' })
    expect(emulator).toMatchObject({
      name: 'emulator',
      authorityHost: 'https://localhost:8443',
      custom: true,
    })
    expect(isOrgUrlOfCloud('https://localhost:8444', emulator)).toBe(true)
    expect(isTrustedLoginHost('localhost:8443', emulator)).toBe(true)
    expect(isTrustedLoginHost('localhost:9999', emulator)).toBe(false)
    expect(cloudFromOrgUrl('https://localhost:8444', [emulator])).toBe(emulator)
    expect(resolveCloud({ name: 'x', authorityHost: 'https://login.example' }).custom).toBe(true)
  })

  it('refuses http authorities and unknown names', () => {
    expect(() => defineCloud({ name: 'x', authorityHost: 'http://localhost:8443' })).toThrow(TokenError)
    expect(() => resolveCloud('mars' as 'public')).toThrow(/Unknown cloud/)
  })
})
