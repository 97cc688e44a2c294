// The policy configuration in force, which can change while the controller runs: the configuration
// file is reloaded when it changes, and `allow-kube-apiserver` follows the API server's endpoints.
// Each change is handed to the listeners with the configuration before and after it.
import { type Config, policyConfig, policySettings } from '../config.ts';
import type { PolicyConfig } from '../policy/profiles.ts';
import type { NetworkPolicySpec } from '../policy/types.ts';

export type ChangeListener = (before: PolicyConfig, after: PolicyConfig, cause: string) => void;

export class PolicySource {
  private file: Config;
  private apiServer: NetworkPolicySpec | undefined;
  private config: PolicyConfig;
  private readonly listeners: ChangeListener[] = [];

  constructor(file: Config) {
    this.file = file;
    this.config = policyConfig(file);
  }

  /** The policy configuration in force. */
  get current(): PolicyConfig {
    return this.config;
  }

  /** The whole configuration file last accepted (most fields take effect at start only). */
  get fileConfig(): Config {
    return this.file;
  }

  onChange(listener: ChangeListener): void {
    this.listeners.push(listener);
  }

  /**
   * A new configuration file, already validated. Returns the fields that changed but take effect
   * only at the next start (everything but the policy configuration).
   */
  reload(next: Config): string[] {
    const policyFields = policySettings(next);
    const restartOnly = Object.keys(next).filter(
      (key) =>
        !(key in policyFields) &&
        JSON.stringify(next[key as keyof Config]) !== JSON.stringify(this.file[key as keyof Config]),
    );
    this.file = next;
    this.update('configuration file');
    return restartOnly;
  }

  /** `allow-kube-apiserver` as the API server's EndpointSlices now say. */
  setApiServer(spec: NetworkPolicySpec): void {
    if (JSON.stringify(spec) === JSON.stringify(this.apiServer)) return;
    this.apiServer = spec;
    this.update('API server endpoints');
  }

  private update(cause: string): void {
    const before = this.config;
    const after = policyConfig(this.file, this.apiServer);
    if (JSON.stringify(before) === JSON.stringify(after)) return;
    this.config = after;
    for (const listener of this.listeners) listener(before, after, cause);
  }
}
