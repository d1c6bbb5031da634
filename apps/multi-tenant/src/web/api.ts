import { apiToken } from './auth.ts'

/** An error answer of the API: `{ error: { code, message } }`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

/** Whether requests act as the signed-in user (impersonation) rather than as the app. */
export function actAsMe(): boolean {
  return localStorage.getItem('actAsMe') === 'true'
}

export function setActAsMe(on: boolean): void {
  localStorage.setItem('actAsMe', String(on))
}

/** Calls the API with the user's access token (or without one when `anonymous`). */
export async function api<T>(
  path: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string>; anonymous?: boolean } = {},
): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json', ...init.headers }
  if (!init.anonymous) headers.Authorization = `Bearer ${await apiToken()}`
  if (actAsMe()) headers['X-Act-As'] = 'me'
  if (init.body !== undefined) headers['Content-Type'] = 'application/json'
  const res = await fetch(path, {
    method: init.method ?? 'GET',
    headers,
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  })
  if (res.status === 204) return undefined as T
  const body = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } }
  if (!res.ok) {
    throw new ApiError(
      res.status,
      body.error?.code ?? 'error',
      body.error?.message ?? `The API answered ${res.status}.`,
    )
  }
  return body as T
}
