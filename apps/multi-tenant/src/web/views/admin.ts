import { api } from '../api.ts'
import { errorBox, h, okBox, show, stillCurrent } from '../dom.ts'

interface Connection {
  tenant: {
    tenantId: string
    orgUrl: string
    status: string
    onboardedByName: string | null
    verifiedAt: string | null
    offboardedAt: string | null
    lastCheck: { at: string; ok: boolean; detail: string } | null
  }
  token: { ok: boolean; expiresOn?: string; message?: string } | null
  appId: string
  roleName: string
  offboardingSteps: string[]
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error))

/** Tenant admin: the connection's status, re-verify, offboard. */
export async function adminView(notice?: { ok: boolean; text: string }): Promise<void> {
  let c: Connection
  const current = stillCurrent()
  try {
    c = await api<Connection>('/api/admin/connection')
  } catch (error) {
    if (current()) show(h('h1', {}, 'Connection'), errorBox(message(error)))
    return
  }
  if (!current()) return
  const status = h('div', {}, notice ? (notice.ok ? okBox(notice.text) : errorBox(notice.text)) : null)
  const t = c.tenant
  const item = (label: string, value: string) => [h('dt', {}, label), h('dd', { 'data-field': label }, value)]
  show(
    h('h1', {}, 'Connection'),
    h(
      'dl',
      { class: 'card' },
      ...item('Status', t.status),
      ...item('Org', t.orgUrl),
      ...item('Tenant', t.tenantId),
      ...item('Connected by', t.onboardedByName ?? '—'),
      ...item(
        'App token',
        c.token ? (c.token.ok ? `valid until ${c.token.expiresOn}` : (c.token.message ?? 'none')) : '—',
      ),
      ...item('Application user', `application id ${c.appId}, role "${c.roleName}"`),
      ...item(
        'Last check',
        t.lastCheck
          ? `${new Date(t.lastCheck.at).toLocaleString()}: ${t.lastCheck.ok ? 'OK' : 'failed'} — ${t.lastCheck.detail}`
          : 'never',
      ),
    ),
    t.status === 'offboarded'
      ? h(
          'div',
          { class: 'card' },
          h('p', {}, 'This organization is offboarded. To finish removing the app:'),
          h('ol', {}, ...c.offboardingSteps.map((s) => h('li', {}, s))),
          h('p', {}, h('a', { href: '#/connect' }, 'Connect it again')),
        )
      : h(
          'div',
          { class: 'toolbar' },
          h(
            'button',
            {
              id: 'reverify',
              onclick: async () => {
                try {
                  const r = await api<{ ok: boolean; detail: string }>('/api/admin/verify', {
                    method: 'POST',
                  })
                  status.replaceChildren(r.ok ? okBox(r.detail) : errorBox(r.detail))
                } catch (error) {
                  status.replaceChildren(errorBox(message(error)))
                }
              },
            },
            'Re-verify',
          ),
          h(
            'button',
            {
              class: 'danger',
              id: 'offboard',
              onclick: async () => {
                if (!confirm('Offboard your organization? Its people will lose access to the app at once.'))
                  return
                try {
                  await api('/api/admin/offboard', { method: 'POST' })
                  await adminView()
                } catch (error) {
                  status.replaceChildren(errorBox(message(error)))
                }
              },
            },
            'Offboard',
          ),
        ),
    status,
  )
}
