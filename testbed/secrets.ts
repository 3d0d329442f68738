/**
 * The passwords the tests hand the agent, through every credential source (password files,
 * k3s registries.yaml, docker's config.json). No output of the agent may contain one, in any
 * test: runAgent checks every run against this list, whatever the test is about.
 */
export const PASSWORDS = {
  /** A registry's password, in a password file or a config. */
  registry: 's3cr3t-Pa55word',
  /** One on the very line a config parser complains about. */
  onBadLine: 'hunter2-secret',
} as const;

/** The passwords (or their Basic-auth encodings for `user`) that `out` gives away. */
export function leakedSecrets(out: string, users: readonly string[] = ['puller', 'bot']): string[] {
  return Object.values(PASSWORDS).filter((p) => out.includes(p) || users.some((u) => out.includes(Buffer.from(`${u}:${p}`).toString('base64'))));
}
