// The configuration file reloaded while the controller runs. A valid new file changes the policies
// in force (the namespace controller rolls the change out); an invalid one is refused, with a log
// line and a Warning Event on the controller's namespace, and the configuration in force stays.
import type { Logger } from 'pino';
import { type Config, ConfigError, parseConfigText, usesApiServer } from './config.ts';
import type { PolicySource } from './controllers/policy-source.ts';
import type { EventRecorder } from './kube/events.ts';
import { watchFile, type FileWatch } from './runtime/filewatch.ts';

export interface ReloadOptions {
  /** The file, and the text the configuration in force was read from. */
  file: { path: string; text: string };
  source: PolicySource;
  log: Logger;
  events: EventRecorder;
  /** Why allow-kube-apiserver cannot be used (the EndpointSlice may not be watched), if so. */
  apiServerUnavailable: string | undefined;
}

/** Why a configuration cannot be used as it is by this controller, beyond its own validity. */
export function apiServerProblem(config: Config, unavailable: string | undefined): string | undefined {
  if (!usesApiServer(config) || unavailable === undefined) return undefined;
  return `profiles use allow-kube-apiserver, but ${unavailable}: apply manifests/components/kube-apiserver-access (and restart the controller), or remove it from the profiles`;
}

export function reloadOnChange(o: ReloadOptions): FileWatch {
  const { path } = o.file;
  const subject = { name: o.source.fileConfig.guardrails.serviceAccount.namespace };
  const refuse = (problems: string) => {
    o.log.error(
      { path: path, problems },
      'configuration file changed but is invalid; the configuration in force stays',
    );
    o.events.record(subject, {
      type: 'Warning',
      reason: 'ConfigurationRejected',
      action: 'Reload',
      note: `${problems}\nThe configuration in force stays until the file is corrected.`,
    });
  };
  return watchFile(
    path,
    o.file.text,
    (text) => {
      let next: Config;
      try {
        next = parseConfigText(text, path);
      } catch (err) {
        if (err instanceof ConfigError) return refuse(err.message);
        throw err;
      }
      const problem = apiServerProblem(next, o.apiServerUnavailable);
      if (problem) return refuse(`invalid configuration in ${path}:\n  - ${problem}`);
      const restartOnly = o.source.reload(next);
      o.log.info({ path: path }, 'configuration file reloaded');
      o.events.record(subject, {
        type: 'Normal',
        reason: 'ConfigurationReloaded',
        action: 'Reload',
        note: `${path} reloaded${restartOnly.length ? `; ${restartOnly.join(', ')} take effect at the next restart` : ''}`,
      });
      if (restartOnly.length)
        o.log.warn({ fields: restartOnly }, 'these fields changed but take effect at the next restart');
    },
    (err) => o.log.warn({ err, path: path }, 'cannot watch or read the configuration file'),
  );
}
