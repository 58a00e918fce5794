// What every page shares: the token (it arrives in the URL fragment that robusta serve prints, and
// is kept for this tab only), a client id per tab, JSON requests with both, error display, and
// charts through vega-embed (SVG, no eval: Vega's expression interpreter, so the CSP can forbid it).

const TOKEN_KEY = 'robusta-token';
const CLIENT_KEY = 'robusta-client';

export function token(): string | null {
  const m = /(?:^|[#&])token=([A-Za-z0-9_-]+)/.exec(location.hash);
  if (m) {
    sessionStorage.setItem(TOKEN_KEY, m[1]!);
    // Out of the address bar (and of anything copied from it).
    const rest = location.hash.replace(/(^#|&)token=[A-Za-z0-9_-]+/, '').replace(/^#?&?/, '');
    history.replaceState(null, '', location.pathname + location.search + (rest ? `#${rest}` : ''));
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

export function clientId(): string {
  let id = sessionStorage.getItem(CLIENT_KEY);
  if (!id) {
    id = crypto.randomUUID();
    sessionStorage.setItem(CLIENT_KEY, id);
  }
  return id;
}

export class ApiError extends Error {
  constructor(message: string, readonly status: number, readonly code: string, readonly body: Record<string, unknown>) {
    super(message);
  }
}

/** A JSON request; writes carry the token and the client id. */
export async function api<T>(path: string, init: RequestInit & { json?: unknown } = {}): Promise<T> {
  const headers = new Headers(init.headers);
  const method = init.method ?? 'GET';
  if (method !== 'GET') {
    const t = token();
    if (t) headers.set('X-Robusta-Token', t);
    headers.set('X-Robusta-Client', clientId());
  }
  let body = init.body;
  if (init.json !== undefined) {
    headers.set('Content-Type', 'application/json');
    body = JSON.stringify(init.json);
  }
  const res = await fetch(path, { ...init, method, headers, body });
  const data = await res.json().catch(() => ({})) as Record<string, unknown>;
  if (!res.ok) throw new ApiError(String(data.message ?? res.statusText), res.status, String(data.error ?? 'error'), data);
  return data as T;
}

export function $(id: string): HTMLElement {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing`);
  return el;
}

export function input(id: string): HTMLInputElement {
  return $(id) as HTMLInputElement;
}

export function select(id: string): HTMLSelectElement {
  return $(id) as HTMLSelectElement;
}

export function showError(message: string | null): void {
  const el = $('error');
  el.textContent = message ?? '';
  el.hidden = !message;
}

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

export function option(value: string, label: string, selected = false): HTMLOptionElement {
  const o = el('option', { value }, label);
  o.selected = selected;
  return o;
}

/** Renders a Vega-Lite spec into el (replacing what was there); resolves when drawn. */
export async function embed(target: HTMLElement, spec: object): Promise<VegaView> {
  const previous = (target as HTMLElement & { vegaResult?: VegaEmbedResult }).vegaResult;
  previous?.finalize();
  const result = await vegaEmbed(target, spec, { renderer: 'svg', actions: false, ast: true });
  (target as HTMLElement & { vegaResult?: VegaEmbedResult }).vegaResult = result;
  target.dataset.rendered = String(Number(target.dataset.rendered ?? '0') + 1);
  return result.view;
}

/** Replaces the rows of a named data set of a drawn chart. */
export async function replaceRows(view: VegaView, name: string, rows: object[]): Promise<void> {
  await view.change(name, vega.changeset().remove(() => true).insert(rows)).runAsync();
}

export async function appendRows(view: VegaView, name: string, rows: object[]): Promise<void> {
  await view.change(name, vega.changeset().insert(rows)).runAsync();
}

export function showTokenState(): void {
  const t = token();
  $('token-state').textContent = t ? 'token set: attacks enabled' : 'read-only: open the URL that robusta serve printed to run attacks';
}

export function fmt(v: unknown, digits = 4): string {
  return typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '–';
}
