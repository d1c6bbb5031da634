type Child = Node | string | null | undefined | false
type Attrs = Record<string, string | boolean | ((event: Event) => void) | undefined>

/** Creates an element: `h('button', { onclick: fn, class: 'danger' }, 'Delete')`. Text is always text, never HTML. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag)
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue
    if (typeof value === 'function') el.addEventListener(key.replace(/^on/, ''), value)
    else if (value === true) el.setAttribute(key, '')
    else el.setAttribute(key, value)
  }
  for (const child of children) if (child) el.append(child)
  return el
}

let viewGeneration = 0

/** Starts rendering a new view: whatever an earlier view was still loading must no longer be shown. */
export function nextView(): void {
  viewGeneration++
}

/**
 * A check for a view that awaits data: false once the user moved on (another route, "Act as me" toggled), so a late
 * answer cannot overwrite the view now on screen.
 */
export function stillCurrent(): () => boolean {
  const mine = viewGeneration
  return () => mine === viewGeneration
}

/** Replaces the content of `#view`. */
export function show(...children: Child[]): void {
  const view = document.getElementById('view') as HTMLElement
  view.replaceChildren(...children.filter((c): c is Node | string => Boolean(c)))
}

export function errorBox(message: string): HTMLElement {
  return h('p', { class: 'error', role: 'alert' }, message)
}

export function okBox(message: string): HTMLElement {
  return h('p', { class: 'ok', role: 'status' }, message)
}

/** The hash route and its query: `#/accounts/123?x=1` → `{ path: ['accounts', '123'], query }`. */
export function route(): { path: string[]; query: URLSearchParams } {
  const [path = '', query = ''] = location.hash.replace(/^#\/?/, '').split('?')
  return { path: path.split('/').filter(Boolean), query: new URLSearchParams(query) }
}
