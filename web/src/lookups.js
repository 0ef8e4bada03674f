// lookups.js — names behind ids, loaded once per session and shared by the screens: the caller's
// organizations and municipalities, and the competence frameworks' competence names.
import { api, listAll } from './api.js';

const cache = new Map();
function once(key, load) {
  if (!cache.has(key)) cache.set(key, load().catch(() => { cache.delete(key); return null; }));
  return cache.get(key);
}

export function organizations() {
  return once('orgs', async () => new Map((await listAll('/organizations')).map((o) => [o.id, o])));
}
export function municipalities() {
  return once('muns', async () => new Map((await listAll('/municipalities')).map((m) => [m.id, m])));
}
export function associations() {
  return once('assoc', async () => new Map((await listAll('/associations')).map((a) => [a.id, a])));
}
export function competences() {
  return once('comp', async () => {
    const out = new Map();
    for (const f of (await api('GET', '/competences')).items || []) {
      for (const part of f.components || []) for (const c of part.competences || []) out.set(c.code, c.name);
    }
    return out;
  });
}
export function forget() {
  cache.clear();
  records.clear();
}

// One record by id, cached for the session (a registration's person, its event's title); a failure is
// remembered as null (the screen shows the id).
const records = new Map();
export function record(path) {
  if (!records.has(path)) records.set(path, api('GET', path).catch(() => null));
  return records.get(path);
}
export function forgetRecord(path) {
  records.delete(path);
}
