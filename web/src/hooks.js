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
