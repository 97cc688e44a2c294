// Specs shared between many policies (the configuration's, the cache's) are frozen: nothing may
// change one under its other users, and a frozen spec's canonical form can be computed once.

/** Freezes an object and everything in it; returns it. */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  Object.freeze(value);
  for (const v of Object.values(value)) deepFreeze(v);
  return value;
}
