// ui.js — the console's building blocks: page frame, labelled fields, tables, cursor pagination, errors,
// notices, progress and a chart with a readable table behind it. htm templates escape every value.
import { h } from 'preact';
import { useEffect, useRef, useState, useCallback } from 'preact/hooks';
import htm from 'htm';
import { api } from './api.js';
import { fmtNum } from './format.js';

export const html = htm.bind(h);

let fieldSeq = 0;
export function useId(prefix = 'f') {
  const ref = useRef(null);
  if (ref.current === null) ref.current = `${prefix}-${++fieldSeq}`;
  return ref.current;
}

export function Page({ title, actions, children }) {
  useEffect(() => {
    document.title = `${title} — metodnet`;
    const main = document.getElementById('main');
    if (main) main.focus({ preventScroll: true });
  }, [title]);
  return html`<section class="page">
    <header class="page-head"><h1>${title}</h1>${actions ? html`<div class="actions">${actions}</div>` : null}</header>
    ${children}
  </section>`;
}

export function ErrorBox({ error }) {
  if (!error) return null;
  return html`<div class="error" role="alert">
    <strong>${error.message}</strong>
    ${error.details && error.details.length
      ? html`<ul>${error.details.map((d) => html`<li>${d.field ? `${d.field}: ` : ''}${d.description}</li>`)}</ul>`
      : null}
  </div>`;
}

export function Notice({ text }) {
  return text ? html`<div class="notice" role="status">${text}</div>` : null;
}

export function Field({ label, hint, children, id }) {
  return html`<div class="field">
    <label for=${id}>${label}</label>
    ${children}
    ${hint ? html`<small class="hint">${hint}</small>` : null}
  </div>`;
}

export function Input({ label, value, onInput, type = 'text', required, hint, ...rest }) {
  const id = useId();
  return html`<${Field} label=${label} hint=${hint} id=${id}>
    <input id=${id} type=${type} value=${value} required=${required}
      onInput=${(e) => onInput(e.currentTarget.value)} ...${rest} />
  </${Field}>`;
}

export function Select({ label, value, onChange, options, empty, required, hint }) {
  const id = useId();
  return html`<${Field} label=${label} hint=${hint} id=${id}>
    <select id=${id} value=${value} required=${required} onChange=${(e) => onChange(e.currentTarget.value)}>
      ${empty !== undefined ? html`<option value="">${empty}</option>` : null}
      ${options.map(([v, text]) => html`<option value=${v}>${text}</option>`)}
    </select>
  </${Field}>`;
}

export function Checkbox({ label, checked, onChange }) {
  const id = useId();
  return html`<div class="check"><input id=${id} type="checkbox" checked=${checked}
    onChange=${(e) => onChange(e.currentTarget.checked)} /><label for=${id}>${label}</label></div>`;
}

export function Table({ caption, columns, rows, empty = 'Ничего не найдено', rowKey = (r) => r.id }) {
  if (!rows) return null;
  if (rows.length === 0) return html`<p class="empty">${empty}</p>`;
  // the wrapper scrolls a wide table sideways (a phone): focusable, so the keyboard scrolls it too
  return html`<div class="table-wrap" tabindex="0" role="region" aria-label=${caption || 'Таблица'}><table>
    ${caption ? html`<caption>${caption}</caption>` : null}
    <thead><tr>${columns.map((c) => html`<th scope="col" class=${c.num ? 'num' : ''}>${c.title}</th>`)}</tr></thead>
    <tbody>${rows.map((r) => html`<tr key=${rowKey(r)}>
      ${columns.map((c) => html`<td class=${c.num ? 'num' : ''} data-label=${c.title}>${c.render ? c.render(r) : r[c.key] ?? '—'}</td>`)}
    </tr>`)}</tbody>
  </table></div>`;
}

// A list with the API's cursors: the first page, then «Показать ещё» appends the next.
export function useList(path, query, { limit = 25, enabled = true } = {}) {
  const [state, setState] = useState({ items: null, next: '', loading: false, error: null });
  const key = JSON.stringify([path, query, limit, enabled]);
  const load = useCallback(async (cursor, append) => {
    if (!enabled || !path) return;
    setState((s) => ({ ...s, loading: true, error: null }));
    try {
      // a page may come back empty with a cursor (what the caller's scope hides): follow it a little
      let page = await api('GET', path, { query: { ...query, limit, cursor } });
      const items = [...(page.items || [])];
      for (let i = 0; i < 20 && items.length === 0 && page.nextCursor; i++) {
        page = await api('GET', path, { query: { ...query, limit, cursor: page.nextCursor } });
        items.push(...(page.items || []));
      }
      setState((s) => ({
        items: append ? [...(s.items || []), ...items] : items,
        next: page.nextCursor || '', loading: false, error: null,
      }));
    } catch (e) {
      setState((s) => ({ ...s, loading: false, error: e, items: append ? s.items : [] }));
    }
  }, [key]);
  useEffect(() => {
    load('', false);
  }, [key]);
  return { ...state, more: () => load(state.next, true), reload: () => load('', false) };
}

export function Pager({ list }) {
  if (list.loading) return html`<p class="loading" role="status">Загрузка…</p>`;
  if (!list.next) return list.items && list.items.length ? html`<p class="count">Показано: ${fmtNum(list.items.length)}</p>` : null;
  return html`<p class="count">Показано: ${fmtNum(list.items.length)}
    <button type="button" class="secondary" onClick=${list.more}>Показать ещё</button></p>`;
}

export function Progress({ value, label }) {
  // value 0..1, or null for work whose length is unknown
  return html`<div class="progress" role="progressbar" aria-label=${label}
      aria-valuemin="0" aria-valuemax="100" aria-valuenow=${value === null ? undefined : Math.round(value * 100)}>
    <div class=${value === null ? 'bar indeterminate' : 'bar'} style=${value === null ? undefined : { width: `${Math.round(value * 100)}%` }}></div>
  </div>`;
}

// Runs an async action: busy flag, error, and a notice on success.
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [done, setDone] = useState('');
  const run = async (fn, message) => {
    setBusy(true);
    setError(null);
    setDone('');
    try {
      const out = await fn();
      if (message) setDone(typeof message === 'function' ? message(out) : message);
      return out;
    } catch (e) {
      setError(e);
      return undefined;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, done, run, setError };
}

export function Link({ href, children, ...rest }) {
  return html`<a href=${href} onClick=${(e) => {
    if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
    e.preventDefault();
    navigate(href);
  }} ...${rest}>${children}</a>`;
}

export function navigate(href) {
  if (href === location.pathname + location.search) return;
  history.pushState(null, '', href);
  window.dispatchEvent(new Event('metodnet:navigate'));
}
