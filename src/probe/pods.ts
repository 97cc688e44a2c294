// The probe's Pods, as Pod Security `restricted` wants them: the controller's own image running
// `probe …` (its entrypoint is node and the bundle; the image has no shell), uid 1000, a read-only
// root, no capabilities, no ServiceAccount token.
export const PROBE_PORT = 8080;

/** The probe as an exec argv (a readiness probe): the image's entrypoint and `probe`. */
export const PROBE_COMMAND = ['/usr/local/bin/node', '/app/dist/main.js', 'probe'];

export interface ProbePodSpec {
  namespace: string;
  name: string;
  image: string;
  labels?: Record<string, string>;
  /** The echo server's port (PROBE_PORT when absent). */
  port?: number;
  /** `probe …`'s arguments; an echo server on `port` when absent. */
  args?: string[];
  imagePullPolicy?: 'Never' | 'IfNotPresent' | 'Always';
  /** A server is Ready once it answers on loopback (which no NetworkPolicy governs). */
  readiness?: boolean;
}

export function probePod(spec: ProbePodSpec) {
  const server = spec.args === undefined;
  const port = spec.port ?? PROBE_PORT;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: spec.name, namespace: spec.namespace, labels: { app: spec.name, ...spec.labels } },
    spec: {
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      terminationGracePeriodSeconds: 1,
      ...(!server && { restartPolicy: 'Never' }),
      securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: 'probe',
          image: spec.image,
          imagePullPolicy: spec.imagePullPolicy ?? 'IfNotPresent',
          args: ['probe', ...(spec.args ?? ['serve', `--port=${port}`])],
          ...(server && {
            ports: [
              { containerPort: port, protocol: 'TCP' },
              { containerPort: port, protocol: 'UDP' },
            ],
          }),
          ...(server &&
            spec.readiness && {
              readinessProbe: {
                exec: { command: [...PROBE_COMMAND, 'connect', `127.0.0.1:${port}`, '--timeout=1000'] },
                periodSeconds: 2,
                timeoutSeconds: 5,
              },
            }),
          resources: { requests: { cpu: '10m', memory: '48Mi' }, limits: { memory: '128Mi' } },
          securityContext: {
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ['ALL'] },
          },
        },
      ],
    },
  };
}
