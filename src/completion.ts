// Shell completion from the flag table (flags.ts): `completion bash|zsh` prints a script whose
// function asks the program itself (`__complete WORDS…`, the last word being completed) for the
// candidates, as cobra programs and kubectl do: one per line, then `:DIRECTIVE` (0: the shell may
// complete file names too, 4: it may not). kubectl completes a plugin's arguments through an
// executable named `kubectl_complete-isolation` that does the same (docs/cli.md).
import { COMMANDS, type Command, FLAGS, type FlagSpec, PROBE_ACTIONS } from './flags.ts';
import { defaultPolicyConfig } from './policy/profiles.ts';

const FILES = 0;
const NO_FILES = 4;
export const SHELLS = ['bash', 'zsh'] as const;
const EXTRA_COMMANDS = ['version', 'completion'] as const;
/** Flags whose value is a path: the shell completes file names. */
const PATHS = new Set(['config', 'kubeconfig', 'filename']);
const VALUES: Record<string, readonly string[]> = {
  output: ['table', 'json', 'yaml'],
  profile: Object.keys(defaultPolicyConfig.profiles),
  'log-level': ['trace', 'debug', 'info', 'warn', 'error'],
};
const POSITIONALS: Partial<Record<string, readonly string[]>> = {
  render: ['guardrails'],
  probe: PROBE_ACTIONS,
  completion: SHELLS,
};

/** The candidates for the last of `words` (the words after the program's name). */
export function complete(words: readonly string[]): string {
  const typed = words.at(-1) ?? '';
  const before = words.slice(0, -1);
  const command = (COMMANDS as readonly string[]).includes(before[0] ?? '')
    ? (before[0] as Command)
    : undefined;
  const flags = (Object.entries(FLAGS) as [string, FlagSpec][]).filter(([, s]) =>
    s.commands.includes(command ?? 'run'),
  );
  const answer = (candidates: readonly string[], directive: number) =>
    `${[...candidates.filter((c) => c.startsWith(typed)), `:${directive}`].join('\n')}\n`;
  // The value of the flag just typed.
  const previous = before.at(-1) ?? '';
  const flag = flags.find(([name, s]) => previous === `--${name}` || (s.short && previous === `-${s.short}`));
  if (flag && flag[1].type === 'string')
    return PATHS.has(flag[0]) ? answer([], FILES) : answer(VALUES[flag[0]] ?? [], NO_FILES);
  if (typed.startsWith('-'))
    return answer(
      flags.map(([name]) => `--${name}`),
      NO_FILES,
    );
  if (before.length === 0) return answer([...COMMANDS, ...EXTRA_COMMANDS], NO_FILES);
  const positional = POSITIONALS[before[0]!];
  if (positional && before.length === 1) return answer(positional, NO_FILES);
  return answer([], NO_FILES);
}

/** The script that `completion SHELL` prints, for the program called `program`. */
export function completionScript(shell: (typeof SHELLS)[number], program: string): string {
  const fn = `_${program.replaceAll('-', '_')}`;
  const bash = `${fn}() {
  local out directive
  out=$("\${COMP_WORDS[0]}" __complete "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null) || return
  directive=\${out##*:}
  out=\${out%:*}
  COMPREPLY=($(compgen -W "$out" -- "\${COMP_WORDS[COMP_CWORD]}"))
  if [[ $directive == 0 && \${#COMPREPLY[@]} == 0 ]]; then COMPREPLY=($(compgen -f -- "\${COMP_WORDS[COMP_CWORD]}")); fi
}
complete -F ${fn} ${program}
`;
  return shell === 'bash'
    ? `# ${program} completion for bash: source <(${program} completion bash)\n${bash}`
    : `# ${program} completion for zsh: source <(${program} completion zsh)\nautoload -U +X bashcompinit && bashcompinit\n${bash}`;
}
