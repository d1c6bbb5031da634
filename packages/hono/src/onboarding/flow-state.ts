import type { Context } from 'hono'
import { INTENTS, type OnboardingIntent } from './intent.ts'

/** What the signed state and ticket carry: the admin who started, their tenant, the org, and the intent. */
export interface Flow {
  k: 'state' | 'ticket'
  tid: string
  oid: string
  org: string
  intent: OnboardingIntent
}

export const SESSION = /^[A-Za-z0-9_-]{32,64}$/

export function parseFlow(data: string | undefined, kind: Flow['k']): Flow | undefined {
  try {
    const f = JSON.parse(data ?? '') as Partial<Flow>
    if (f.k !== kind || !f.tid || !f.oid || !f.org || !INTENTS.includes(f.intent as OnboardingIntent)) return
    return f as Flow
  } catch {
    // not JSON: no flow
  }
  return undefined
}

export function newSessionId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32))
  const unpadded = btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
  // Stryker disable next-line Regex: 32 bytes encode to 43 characters and one '=' of padding, and base64 has '=' nowhere else
  return unpadded.replace(/=+$/, '')
}

export async function jsonBody(c: Context): Promise<Record<string, unknown> | undefined> {
  if (!c.req.header('content-type')?.toLowerCase().startsWith('application/json')) return undefined
  const body = (await c.req.json().catch(() => undefined)) as unknown
  return body && typeof body === 'object' && !Array.isArray(body)
    ? (body as Record<string, unknown>)
    : undefined
}
