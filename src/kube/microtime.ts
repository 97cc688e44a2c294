// metav1.MicroTime, which Events and Leases require: RFC 3339 with exactly six fractional digits.
export const microTime = (ms: number) => `${new Date(ms).toISOString().slice(0, -1)}000Z`;
