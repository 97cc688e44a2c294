import { describe, expect, it } from 'vitest';
import { Dependents } from './dependents.ts';

const kubeSystem = { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } };
const monitoring = { matchLabels: { team: 'monitoring' } };

describe('Dependents', () => {
  it('finds the namespaces whose verdicts read a selector the labels meet, old or new', () => {
    const d = new Dependents();
    d.set('a', [kubeSystem]);
    d.set('b', [{ matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, monitoring]);
    d.set('c', []);
    expect([...d.of([{ team: 'monitoring' }])]).toEqual(['b']);
    expect([...d.of([{ 'kubernetes.io/metadata.name': 'kube-system' }])].sort()).toEqual(['a', 'b']);
    expect([...d.of([{ team: 'web' }, { team: 'monitoring' }])]).toEqual(['b']);
    expect([...d.of([{ team: 'web' }])]).toEqual([]);
  });

  it('forgets what a namespace read when it is set again or deleted', () => {
    const d = new Dependents();
    d.set('a', [monitoring]);
    d.set('a', [kubeSystem]);
    expect([...d.of([{ team: 'monitoring' }])]).toEqual([]);
    d.delete('a');
    expect([...d.of([{ 'kubernetes.io/metadata.name': 'kube-system' }])]).toEqual([]);
  });
});
