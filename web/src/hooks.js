// hooks.js — loading one thing for a screen (an object, a lookup) with its error.
import { useEffect, useState } from 'preact/hooks';

export function useLoad(fn, deps) {
  const [state, setState] = useState({ data: undefined, error: null, loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    fn().then((data) => live && setState({ data, error: null, loading: false }),
      (error) => live && setState({ data: null, error, loading: false }));
    return () => { live = false; };
  }, [...deps, tick]);
  return { ...state, reload: () => setTick((t) => t + 1) };
}

export function useLookup(promiseFn) {
  const [value, setValue] = useState(null);
  useEffect(() => {
    let live = true;
    promiseFn().then((v) => live && setValue(v));
    return () => { live = false; };
  }, []);
  return value;
}

// The records behind a list's ids (GET path(id), cached in lookups.js): a Map id → record (or null).
export function useRecords(ids, pathOf, recordFn) {
  const [map, setMap] = useState(new Map());
  const key = [...new Set(ids)].sort().join(',');
  useEffect(() => {
    let live = true;
    const wanted = key ? key.split(',') : [];
    Promise.all(wanted.map((id) => recordFn(pathOf(id)).then((r) => [id, r])))
      .then((pairs) => live && setMap(new Map(pairs)));
    return () => { live = false; };
  }, [key]);
  return map;
}
