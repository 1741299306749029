import { ConfigError, Reason } from '../errors.ts';
import type { StackKey } from '../model.ts';

/**
 * Orders keys so that every key comes after the keys it depends on (Kahn's algorithm, ties broken by name so runs
 * are repeatable). Dependencies outside `keys` are ignored here: they are checked against the state store at apply
 * time. A cycle is a configuration error naming the keys on it.
 */
export function dependencyOrder(
  keys: readonly StackKey[],
  dependsOn: (key: StackKey) => readonly StackKey[],
): StackKey[] {
  const inSet = new Set(keys);
  const pending = new Map<StackKey, Set<StackKey>>();
  const dependents = new Map<StackKey, StackKey[]>();
  for (const key of keys) {
    const deps = new Set(dependsOn(key).filter((d) => inSet.has(d) && d !== key));
    pending.set(key, deps);
    for (const d of deps) dependents.set(d, [...(dependents.get(d) ?? []), key]);
  }
  const ready = [...keys].filter((k) => pending.get(k)?.size === 0).sort();
  const out: StackKey[] = [];
  while (ready.length > 0) {
    const key = ready.shift() as StackKey;
    out.push(key);
    for (const dependent of dependents.get(key) ?? []) {
      const rest = pending.get(dependent);
      rest?.delete(key);
      if (rest?.size === 0) {
        ready.push(dependent);
        ready.sort();
      }
    }
  }
  if (out.length < keys.length) {
    const stuck = keys.filter((k) => !out.includes(k)).sort();
    throw new ConfigError(Reason.DependencyCycle, `dependsOn cycle between ${stuck.join(', ')}`, {
      field: 'dependsOn',
    });
  }
  return out;
}
