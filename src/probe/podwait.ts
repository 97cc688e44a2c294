// The steps of `check --probe` that wait on the API server: Pods created (past the guardrails'
// gate) and watched until ready or done, and refusals said as what they are (RBAC, admission,
// quota, an image that cannot be pulled). Each wait has a deadline and ends at Ctrl-C.
import { setTimeout as delay } from 'node:timers/promises';
import { KubeApiError, type KubeClient } from '../kube/client.ts';
import { resourcePath } from '../kube/resources.ts';
import type { Labels } from '../policy/types.ts';
import type { probePod } from '../probe/pods.ts';

/** The run could not judge (exit 2): what stopped it and what to do. */
export class CannotProbe extends Error {}

export interface PodObject {
  metadata: { name: string; namespace: string; labels?: Labels };
  status?: {
    phase?: string;
    podIP?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: { state?: { waiting?: { reason?: string; message?: string } } }[];
  };
}

/** A refusal of the API server, said as what it is: RBAC, admission, quota. */
function refusal(err: unknown, what: string): unknown {
  if (!(err instanceof KubeApiError)) return err;
  const kind = /cannot \w+ resource/.test(err.message)
    ? `RBAC: your credentials may not ${what}`
    : /exceeded quota/.test(err.message)
      ? 'quota'
      : [400, 403, 422].includes(err.status)
        ? 'admission'
        : what;
  return new CannotProbe(`${kind}: ${err.message}`);
}

export async function must<T>(call: Promise<T>, what: string): Promise<T> {
  try {
    return await call;
  } catch (err) {
    throw refusal(err, what);
  }
}

/** Creates a Pod; the guardrails' gate may refuse it for a moment after the policies appear. */
export async function createPod(client: KubeClient, signal: AbortSignal, pod: ReturnType<typeof probePod>) {
  const path = resourcePath('Pod', pod.metadata.namespace);
  for (let tries = 0; ; tries++) {
    try {
      return await client.send('POST', path, { body: pod });
    } catch (err) {
      if (!(err instanceof KubeApiError && /pods wait for/.test(err.message) && tries < 20))
        throw refusal(err, 'create pods');
      await sleep(500, signal);
    }
  }
}

/** Polls a Pod until `done` gives a value; an image that cannot be pulled stops it at once. */
export async function waitPod<T>(
  client: KubeClient,
  signal: AbortSignal,
  ns: string,
  name: string,
  withinMs: number,
  image: string,
  done: (p: PodObject) => T | undefined,
): Promise<T> {
  let last: PodObject | undefined;
  return until(
    signal,
    withinMs,
    async () => {
      last = await client.get<PodObject>(resourcePath('Pod', ns, name));
      const waiting = last?.status?.containerStatuses?.[0]?.state?.waiting;
      if (waiting?.reason && /ErrImagePull|ImagePullBackOff|InvalidImageName/.test(waiting.reason))
        throw new CannotProbe(
          `image pull: ${image}: ${waiting.reason}: ${waiting.message ?? ''} (an air-gapped cluster: --image with your mirror's copy)`,
        );
      return last && done(last);
    },
    () =>
      `Pod ${ns}/${name} not ${name.startsWith('server') ? 'ready' : 'done'} within ${withinMs / 1000} s (phase ${last?.status?.phase ?? 'unknown'}${last?.status?.containerStatuses?.[0]?.state?.waiting?.reason ? `, ${last.status.containerStatuses[0].state.waiting.reason}` : ''})`,
  );
}

export async function until<T>(
  signal: AbortSignal,
  withinMs: number,
  step: () => Promise<T | false | undefined>,
  why: () => string | Promise<string>,
): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const value = await step();
    if (value) return value;
    if (Date.now() > deadline) throw new CannotProbe(`timeout: ${await why()}`);
    await sleep(500, signal);
  }
}

async function sleep(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await delay(ms, undefined, { signal });
  } catch {
    throw new CannotProbe('interrupted');
  }
}
