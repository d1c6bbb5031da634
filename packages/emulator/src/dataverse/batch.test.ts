import { beforeAll, describe, expect, it } from 'vitest'
import { MAX_BATCH_REQUESTS } from './batch.ts'
import { type BatchOp, batchBody, setup } from './test-support.ts'

const API = '/api/data/v9.2'
type Env = Awaited<ReturnType<typeof setup>>

let env: Env
beforeAll(async () => {
  env = await setup({ seed: { sampleData: false } })
})

type Op = BatchOp

async function send(items: (Op | Op[])[], headers: Record<string, string> = {}) {
  const { body, contentType } = batchBody(items)
  const res = await env.request(`${API}/$batch`, {
    method: 'POST',
    headers: { 'Content-Type': contentType, ...headers },
    body,
  })
  return { res, text: await res.text() }
}

describe('$batch', () => {
  it('runs requests in order and a change set with Content-ID references', async () => {
    const { res, text } = await send([
      { method: 'GET', url: `${API}/WhoAmI` },
      [
        { method: 'POST', url: `${API}/accounts`, body: { name: 'Batch Parent' }, contentId: 1 },
        {
          method: 'POST',
          url: 'contacts',
          body: { firstname: 'Batch', 'parentcustomerid_account@odata.bind': '$1' },
          contentId: 2,
        },
        { method: 'PATCH', url: '$1', body: { telephone1: '42' }, contentId: 3 },
        { method: 'PUT', url: '$1/primarycontactid/$ref', body: { '@odata.id': '$2' }, contentId: 4 },
      ],
    ])
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(
      /^multipart\/mixed; boundary=batchresponse_[0-9a-f-]{36}$/,
    )
    expect(text).toContain('HTTP/1.1 200 OK')
    expect(text.match(/HTTP\/1\.1 204 No Content/g)).toHaveLength(4)
    expect(text).toMatch(
      /Content-ID: 2\r\n\r\nHTTP\/1\.1 204 No Content\r\nOData-Version: 4\.0\r\nOData-EntityId: https:\/\/localhost:8444\/api\/data\/v9\.2\/contacts\(/,
    )
    const page = (await (
      await env.request(
        `${API}/accounts?$filter=name eq 'Batch Parent'&$select=telephone1,_primarycontactid_value`,
      )
    ).json()) as { value: Record<string, unknown>[] }
    expect(page.value[0]?.telephone1).toBe('42')
    expect(page.value[0]?._primarycontactid_value).toMatch(/^[0-9a-f-]{36}$/)
  })

  it('rolls back a change set whose last request fails, and stops the batch with 400', async () => {
    const before = env.org.data.count('account')
    const { res, text } = await send([
      [
        { method: 'POST', url: `${API}/accounts`, body: { name: 'Rolled back 1' }, contentId: 1 },
        { method: 'POST', url: `${API}/accounts`, body: { name: 'Rolled back 2' }, contentId: 2 },
        { method: 'PATCH', url: '$1', body: { notacolumn: 1 }, contentId: 3 },
      ],
      { method: 'POST', url: `${API}/accounts`, body: { name: 'never runs' } },
    ])
    expect(res.status).toBe(400)
    expect(text).toContain('HTTP/1.1 400 Bad Request')
    expect(text).toContain('0x80048d19')
    expect(text).not.toContain('changesetresponse')
    expect(env.org.data.count('account')).toBe(before)
  })

  it('continues after failures with Prefer: odata.continue-on-error', async () => {
    const before = env.org.data.count('account')
    const { res, text } = await send(
      [
        { method: 'GET', url: `${API}/accounts(00000000-0000-4000-8000-000000000000)` },
        { method: 'POST', url: `${API}/accounts`, body: { name: 'after failure' } },
      ],
      { Prefer: 'odata.continue-on-error' },
    )
    expect(res.status).toBe(200)
    expect(res.headers.get('preference-applied')).toBe('odata.continue-on-error')
    expect(text).toContain('HTTP/1.1 404 Not Found')
    expect(text).toContain('0x80040217')
    expect(env.org.data.count('account')).toBe(before + 1)
  })

  it('refuses an undeclared Content-ID, a GET in a change set, and a malformed body', async () => {
    const undeclared = await send([[{ method: 'PATCH', url: '$9', body: { name: 'x' }, contentId: 1 }]])
    expect(undeclared.text).toContain("Content-ID Reference: '$9' does not exist in the batch context.")
    const getInCs = await send([[{ method: 'GET', url: `${API}/WhoAmI`, contentId: 1 }]])
    expect(getInCs.res.status).toBe(400)
    expect(JSON.parse(getInCs.text).error.code).toBe('0x80060888')
    const broken = await env.request(`${API}/$batch`, {
      method: 'POST',
      headers: { 'Content-Type': 'multipart/mixed; boundary=b' },
      body: '--b\r\nnonsense',
    })
    expect(broken.status).toBe(400)
    const noBoundary = await env.request(`${API}/$batch`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{}',
    })
    expect(noBoundary.status).toBe(400)
  })

  it(`refuses more than ${MAX_BATCH_REQUESTS} requests with 400 and runs none`, async () => {
    const before = env.org.data.count('account')
    const ops: Op[] = Array.from({ length: MAX_BATCH_REQUESTS + 1 }, () => ({
      method: 'POST',
      url: 'accounts',
      body: { name: 'x' },
    }))
    const { res, text } = await send(ops)
    expect(res.status).toBe(400)
    expect(JSON.parse(text).error.message).toContain('1000')
    expect(env.org.data.count('account')).toBe(before)
  })
})
