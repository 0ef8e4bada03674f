// api.js — the one way the console talks to the gateway: fetch with the session cookie (set by the
// login, HttpOnly: the page never sees the token) and the X-Metodnet-CSRF header the gateway requires
// of every unsafe request made with the cookie. Errors carry the API's Russian message.
export class ApiError extends Error {
  constructor(status, body) {
    const err = (body && body.error) || {};
    super(err.message || `Ошибка сервера (HTTP ${status})`);
    this.status = status;
    this.code = err.code || '';
    this.details = Array.isArray(err.details) ? err.details : [];
  }
}

let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

export function qs(query) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== '') p.set(k, String(v));
  }
  const s = p.toString();
  return s ? `?${s}` : '';
}

export async function api(method, path, { body, query, csv, ifMatch, quiet401 } = {}) {
  const headers = { Accept: 'application/json', 'X-Metodnet-CSRF': '1' };
  let payload;
  if (csv !== undefined) {
    headers['Content-Type'] = 'text/csv; charset=utf-8';
    payload = csv;
  } else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  if (ifMatch !== undefined) headers['If-Match'] = `"${ifMatch}"`;
  let res;
  try {
    res = await fetch(`/api/v1${path}${qs(query)}`, { method, headers, body: payload, credentials: 'same-origin' });
  } catch (e) {
    throw new ApiError(0, { error: { message: 'Сервер не отвечает: проверьте соединение' } });
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : {};
  } catch (e) {
    data = null;
  }
  if (!res.ok) {
    if (res.status === 401 && !quiet401) onUnauthorized();
    throw new ApiError(res.status, data);
  }
  return data || {};
}

// Uploads a CSV with real upload progress (fetch has none): onProgress(fraction 0..1).
export function uploadCsv(path, file, query, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/api/v1${path}${qs(query)}`);
    xhr.setRequestHeader('Content-Type', 'text/csv; charset=utf-8');
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.setRequestHeader('X-Metodnet-CSRF', '1');
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.upload.onload = () => onProgress(1);
    xhr.onerror = () => reject(new ApiError(0, { error: { message: 'Сервер не отвечает: проверьте соединение' } }));
    xhr.onload = () => {
      let data = null;
      try {
        data = JSON.parse(xhr.responseText);
      } catch (e) {
        data = null;
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(data || {});
      else reject(new ApiError(xhr.status, data));
    };
    xhr.send(file);
  });
}

// Every page of a list (for small lists: the schools of a municipality, competence names).
export async function listAll(path, query = {}, max = 2000) {
  const out = [];
  let cursor = '';
  do {
    const page = await api('GET', path, { query: { ...query, limit: 500, cursor } });
    out.push(...(page.items || []));
    cursor = page.nextCursor || '';
  } while (cursor && out.length < max);
  return out;
}
