// metav1.MicroTime, which Events and Leases require: RFC 3339 with exactly six fractional digits.
export const microTime = (ms: number) => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
