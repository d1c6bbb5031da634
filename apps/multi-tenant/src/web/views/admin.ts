import { api } from '../api.ts'
import { errorBox, h, okBox, show, stillCurrent } from '../dom.ts'
import { startConsent } from './onboarding.ts'

interface TenantEventView {
  at: string
  action: string
  fromStatus: string | null
  toStatus: string
  by: { objectId: string | null; name: string | null }
  detail: string | null
}

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
  events: TenantEventView[]
  appId: string
  roleName: string
  offboardingSteps: string[]
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error))

/** The tenant's event log: who did what, when, from which status. */
function eventLog(events: TenantEventView[]): HTMLElement {
  return h(
    'table',
    { 'aria-label': 'Event log' },
    h(
      'thead',
      {},
      h('tr', {}, h('th', {}, 'When'), h('th', {}, 'What'), h('th', {}, 'Status'), h('th', {}, 'Who')),
    ),
    h(
      'tbody',
      {},
      ...events.map((e) =>
        h(
          'tr',
          { 'data-action': e.action },
          h('td', {}, new Date(e.at).toLocaleString()),
          h('td', {}, e.action.replace(/_/g, ' ') + (e.detail ? ` (${e.detail})` : '')),
          h('td', {}, `${e.fromStatus ?? '—'} → ${e.toStatus}`),
          h('td', { title: e.by.objectId ?? '' }, e.by.name ?? e.by.objectId ?? 'the app'),
        ),
      ),
    ),
  )
}

/** Tenant admin: the connection's status and event log; re-verify, offboard, reconnect. */
export async function adminView(notice?: { ok: boolean; text: string }): Promise<void> {
  let c: Connection
  const current = stillCurrent()
  try {
    c = await api<Connection>('/api/onboarding/tenant')
  } catch (error) {
    if (current()) show(h('h1', {}, 'Connection'), errorBox(message(error)))
    return
  }
  if (!current()) return
  const status = h('div', {}, notice ? (notice.ok ? okBox(notice.text) : errorBox(notice.text)) : null)
  const t = c.tenant
  const item = (label: string, value: string) => [h('dt', {}, label), h('dd', { 'data-field': label }, value)]
  const act = (id: string, label: string, cls: string, run: () => Promise<void>) =>
    h(
      'button',
      {
        id,
        class: cls,
        onclick: async () => {
          try {
            await run()
          } catch (error) {
            status.replaceChildren(errorBox(message(error)))
          }
        },
      },
      label,
    )
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
          h('p', {}, 'Or connect it again: you give admin consent again, then the set-up is verified.'),
          act('reconnect', 'Reconnect', '', async () => {
            if (!confirm(`Reconnect ${t.orgUrl}? Your people get access again once the set-up is verified.`))
              return
            await startConsent(t.orgUrl, 'reconnect')
          }),
        )
      : h(
          'div',
          { class: 'toolbar' },
          act('reverify', 'Re-verify', '', async () => {
            const r = await api<{ ok: boolean; detail: string }>('/api/onboarding/verify', {
              method: 'POST',
              body: {},
            })
            status.replaceChildren(r.ok ? okBox(r.detail) : errorBox(r.detail))
          }),
          act('offboard', 'Offboard', 'danger', async () => {
            if (!confirm('Offboard your organization? Its people will lose access to the app at once.'))
              return
            await api('/api/onboarding/offboard', { method: 'POST', body: { confirm: true } })
            await adminView({ ok: true, text: 'Offboarded.' })
          }),
        ),
    status,
    h('h2', {}, 'Event log'),
    eventLog(c.events),
  )
}
