import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseFlags, UsageError } from './flags.ts';
import { flagTable } from './help.ts';

describe('flags', () => {
  it('takes a flag over its environment variable over its default', () => {
    expect(parseFlags(['--log-level', 'debug'], { LOG_LEVEL: 'warn' }).flags['log-level']).toBe('debug');
    expect(parseFlags([], { LOG_LEVEL: 'warn' }).flags['log-level']).toBe('warn');
    expect(parseFlags([], {}).flags['log-level']).toBe('info');
    expect(parseFlags(['run'], { DRY_RUN: '1' }).flags['dry-run']).toBe(true);
  });

  it('knows each command by its own flags', () => {
    expect(parseFlags(['render', '--namespace', 'a'], {})).toMatchObject({
      command: 'render',
      flags: { namespace: 'a', profile: 'strict' },
    });
    expect(() => parseFlags(['render', '--leader-elect'], {})).toThrow(UsageError);
    expect(parseFlags(['render', 'guardrails'], {}).target).toBe('guardrails');
    expect(parseFlags(['render', '--namespace', 'a'], {}).target).toBe('policies');
    expect(() => parseFlags(['render', 'policies'], {})).toThrow('did you mean render guardrails?');
    expect(() => parseFlags(['check', 'guardrails'], {})).toThrow(UsageError);
    expect(() => parseFlags(['--namespace', 'a'], {})).toThrow(/run: Unknown option '--namespace'/);
  });

  it('refuses a boolean variable that is not true or false, naming it', () => {
    expect(() => parseFlags([], { LEADER_ELECT: 'yes' })).toThrow('LEADER_ELECT: "yes" is not true or false');
  });

  it("is the README's flag table (as prettier aligns it)", () => {
    const squeeze = (text: string) => text.replace(/ *\| */g, '|').replace(/-{3,}/g, '---');
    const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8');
    expect(squeeze(readme)).toContain(squeeze(flagTable()));
  });
});
