import { describe, expect, it } from 'vitest';
import { complete, completionScript } from './completion.ts';

const lines = (out: string) => out.trimEnd().split('\n');

describe('completion', () => {
  it('offers commands, then the flags of the command typed, from the flag table', () => {
    expect(lines(complete(['c']))).toEqual(['check', 'completion', ':4']);
    expect(lines(complete(['check', '--pr']))).toEqual(['--profile', '--probe', ':4']);
    // --leader-elect is run's, not check's.
    expect(complete(['check', '--le'])).toBe(':4\n');
    expect(lines(complete(['--le']))).toEqual(['--leader-elect', '--leader-election-namespace', ':4']);
  });

  it("offers a flag's values, and file names where the value is a path", () => {
    expect(lines(complete(['check', '-o', '']))).toEqual(['table', 'json', 'yaml', ':4']);
    expect(lines(complete(['check', '--profile', 's']))).toEqual(['strict', 'same-namespace-only', ':4']);
    expect(complete(['check', '-f', 'ma'])).toBe(':0\n');
    expect(complete(['render', '--config', ''])).toBe(':0\n');
  });

  it("offers a command's own words: render guardrails, probe's actions, the shells", () => {
    expect(lines(complete(['render', 'g']))).toEqual(['guardrails', ':4']);
    expect(lines(complete(['probe', '']))).toEqual(['serve', 'connect', 'resolve', 'expect', ':4']);
    expect(lines(complete(['completion', '']))).toEqual(['bash', 'zsh', ':4']);
  });

  it('writes a script that asks the program itself', () => {
    const bash = completionScript('bash', 'kubectl-isolation');
    expect(bash).toContain('complete -F _kubectl_isolation kubectl-isolation');
    expect(bash).toContain('__complete');
    expect(completionScript('zsh', 'kubectl-isolation')).toContain('bashcompinit');
  });
});
