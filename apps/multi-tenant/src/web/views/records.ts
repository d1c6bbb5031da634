import { ApiError, api } from '../api.ts'
import { errorBox, h, okBox, show, stillCurrent } from '../dom.ts'

interface Row {
  id: string
  etag: string
  [column: string]: string | null
}

interface TableView {
  title: string
  columns: [string, string][]
  fields: [string, string][]
  name: (row: Row) => string
}

const views: Record<string, TableView> = {
  accounts: {
    title: 'Accounts',
    columns: [
      ['name', 'Name'],
      ['address1_city', 'City'],
      ['telephone1', 'Phone'],
      ['createdby', 'Created by'],
    ],
    fields: [
      ['name', 'Account name'],
      ['telephone1', 'Phone'],
      ['emailaddress1', 'Email'],
      ['websiteurl', 'Website'],
      ['address1_city', 'City'],
    ],
    name: (r) => r.name ?? '(no name)',
  },
  contacts: {
    title: 'Contacts',
    columns: [
      ['fullname', 'Name'],
      ['emailaddress1', 'Email'],
      ['jobtitle', 'Job title'],
      ['createdby', 'Created by'],
    ],
    fields: [
      ['firstname', 'First name'],
      ['lastname', 'Last name'],
      ['emailaddress1', 'Email'],
      ['jobtitle', 'Job title'],
      ['telephone1', 'Phone'],
    ],
    name: (r) => r.fullname ?? r.lastname ?? '(no name)',
  },
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error))

/** A list with search and paging (signed cursors from the API; a stack of them for "Previous"). */
export async function listView(table: string, query: URLSearchParams): Promise<void> {
  const view = views[table]
  if (!view) return show(errorBox('Unknown table.'))
  const search = query.get('search') ?? ''
  const cursors = (query.get('cursors') ?? '').split(',').filter(Boolean)
  const params = new URLSearchParams({ pageSize: '10' })
  if (search) params.set('search', search)
  const cursor = cursors.at(-1)
  if (cursor) params.set('cursor', cursor)
  const link = (next: string[], s = search) =>
    `#/${table}?${new URLSearchParams({ ...(s ? { search: s } : {}), ...(next.length ? { cursors: next.join(',') } : {}) })}`
  const input = h('input', {
    type: 'search',
    name: 'search',
    placeholder: `Search ${view.title.toLowerCase()}`,
    value: search,
  })
  const searchForm = h(
    'form',
    {
      class: 'toolbar',
      onsubmit: (e) => {
        e.preventDefault()
        location.hash = link([], input.value.trim())
      },
    },
    input,
    h('button', { type: 'submit' }, 'Search'),
    h(
      'button',
      { type: 'button', class: 'secondary', onclick: () => (location.hash = `#/${table}/new`) },
      `New`,
    ),
  )
  show(h('h1', {}, view.title), searchForm, h('p', { class: 'muted' }, 'Loading…'))
  const current = stillCurrent()
  try {
    const page = await api<{ rows: Row[]; next: string | null }>(`/api/tables/${table}?${params}`)
    if (!current()) return
    const rows = page.rows.map((r) =>
      h(
        'tr',
        { class: 'row', 'data-id': r.id, onclick: () => (location.hash = `#/${table}/${r.id}`) },
        ...view.columns.map(([col]) => h('td', {}, r[col] ?? '')),
      ),
    )
    show(
      h('h1', {}, view.title),
      searchForm,
      h(
        'table',
        { 'aria-label': view.title },
        h('thead', {}, h('tr', {}, ...view.columns.map(([, label]) => h('th', {}, label)))),
        h('tbody', {}, ...rows),
      ),
      rows.length === 0
        ? h('p', { class: 'muted' }, search ? 'Nothing matches your search.' : 'No records yet.')
        : null,
      h(
        'div',
        { class: 'toolbar' },
        h(
          'button',
          {
            class: 'secondary',
            disabled: cursors.length === 0,
            onclick: () => (location.hash = link(cursors.slice(0, -1))),
          },
          'Previous',
        ),
        h('span', { class: 'muted' }, `Page ${cursors.length + 1}`),
        h(
          'button',
          {
            class: 'secondary',
            disabled: !page.next,
            onclick: () => {
              if (page.next) location.hash = link([...cursors, page.next])
            },
          },
          'Next',
        ),
      ),
    )
  } catch (error) {
    if (current()) show(h('h1', {}, view.title), errorBox(message(error)))
  }
}

/** View, edit (with the etag: a concurrent change is reported, not overwritten) and delete one record; or create. */
export async function recordView(table: string, id: string): Promise<void> {
  const view = views[table]
  if (!view) return show(errorBox('Unknown table.'))
  const creating = id === 'new'
  let row: Row | undefined
  if (!creating) {
    const current = stillCurrent()
    try {
      row = await api<Row>(`/api/tables/${table}/${encodeURIComponent(id)}`)
      if (!current()) return
    } catch (error) {
      if (!current()) return
      return show(
        h('h1', {}, view.title),
        errorBox(message(error)),
        h('a', { href: `#/${table}` }, 'Back to the list'),
      )
    }
  }
  const status = h('div', {})
  const inputs = view.fields.map(([col, label]) =>
    h('label', {}, label, h('input', { name: col, value: row?.[col] ?? '', autocomplete: 'off' })),
  )
  const values = () =>
    Object.fromEntries(
      inputs.map((l) => l.querySelector('input') as HTMLInputElement).map((i) => [i.name, i.value]),
    )
  const save = async (e: Event) => {
    e.preventDefault()
    try {
      if (creating) {
        const created = await api<Row>(`/api/tables/${table}`, { method: 'POST', body: values() })
        location.hash = `#/${table}/${created.id}`
        return
      }
      row = await api<Row>(`/api/tables/${table}/${id}`, {
        method: 'PATCH',
        body: values(),
        headers: { 'If-Match': row?.etag ?? '' },
      })
      status.replaceChildren(okBox('Saved.'))
    } catch (error) {
      status.replaceChildren(errorBox(message(error)))
    }
  }
  const remove = async () => {
    if (!confirm(`Delete ${row ? view.name(row) : 'this record'}?`)) return
    try {
      await api(`/api/tables/${table}/${id}`, { method: 'DELETE', headers: { 'If-Match': row?.etag ?? '' } })
      location.hash = `#/${table}`
    } catch (error) {
      status.replaceChildren(errorBox(error instanceof ApiError ? error.message : message(error)))
    }
  }
  show(
    h('p', {}, h('a', { href: `#/${table}` }, `← ${view.title}`)),
    h('h1', {}, creating ? `New ${view.title.slice(0, -1).toLowerCase()}` : view.name(row as Row)),
    h(
      'form',
      { class: 'card fields', onsubmit: save },
      ...inputs,
      h(
        'div',
        { class: 'toolbar' },
        h('button', { type: 'submit' }, creating ? 'Create' : 'Save'),
        creating ? null : h('button', { type: 'button', class: 'danger', onclick: remove }, 'Delete'),
      ),
    ),
    status,
    row
      ? h(
          'dl',
          { class: 'card muted' },
          h('dt', {}, 'Created by'),
          h('dd', { 'data-field': 'createdby' }, row.createdby ?? ''),
          h('dt', {}, 'Created on behalf of'),
          h('dd', { 'data-field': 'createdonbehalfby' }, row.createdonbehalfby ?? '—'),
          h('dt', {}, 'Last modified by'),
          h('dd', {}, row.modifiedby ?? ''),
        )
      : null,
  )
}
