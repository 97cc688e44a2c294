// What the API server says when it refuses or fails a request, as one error type.

/** A refusal or failure from the API server, naming the request and what it said. */
export class KubeApiError extends Error {
  readonly status: number;
  readonly reason: string;
  readonly method: string;
  readonly path: string;

  constructor(method: string, path: string, status: number, reason: string, message: string) {
    super(`${method} ${path}: ${status} ${reason}: ${message}`);
    this.name = 'KubeApiError';
    this.status = status;
    this.reason = reason;
    this.method = method;
    this.path = path;
  }
}

/** The error for an answer of `status`, from its body (a metav1.Status where the server sent one). */
export function apiError(method: string, path: string, status: number, body: string): KubeApiError {
  try {
    const parsed = JSON.parse(body) as { reason?: string; message?: string };
    return new KubeApiError(method, path, status, parsed.reason ?? 'Unknown', parsed.message ?? body);
  } catch {
    return new KubeApiError(method, path, status, 'Unknown', body.slice(0, 200));
  }
}
