/**
 * The in-process caches' one eviction rule: a Map kept in insertion order, the key moved to the end on every set,
 * and the oldest entry dropped when the map is full.
 */
export function setBounded<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key);
  if (map.size >= max) map.delete(map.keys().next().value as K);
  map.set(key, value);
}
