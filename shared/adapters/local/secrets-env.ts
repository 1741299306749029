/**
 * Secrets from the environment (and optionally a `.env` file) for the CLI and `gitops dev`. Real environment variables
 * win over the file, as with dotenv. Every value handed out is registered with `sanitize`, so it is masked wherever it
 * would later appear; values of the file that are never asked for are not registered (a region name in `.env` must not
 * start masking every log line).
 */
import { readFile } from 'node:fs/promises';
import { ConfigError, Reason } from '../../errors.ts';
import type { SecretName, Secrets } from '../../ports.ts';
import { registerSecret } from '../../sanitize.ts';

const wellKnown: Readonly<Record<SecretName, string>> = {
  'webhook-secret': 'GITOPS_WEBHOOK_SECRET',
  'git-token': 'GITOPS_GIT_TOKEN',
  'slack-webhook-url': 'GITOPS_SLACK_WEBHOOK_URL',
  'github-token': 'GITOPS_GITHUB_TOKEN',
};

/** The environment variable a secret name reads: the four known ones, else `GITOPS_SECRET_<NAME_IN_UPPER_SNAKE>`. */
export function secretVariable(name: string): string {
  const known = (wellKnown as Record<string, string | undefined>)[name];
  if (known) return known;
  const snake = name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toUpperCase();
  return `GITOPS_SECRET_${snake}`;
}

export class EnvSecrets implements Secrets {
  private readonly env: Readonly<Record<string, string | undefined>>;
  private readonly dotenvPath: string | undefined;
  private fileValues: Promise<Record<string, string>> | undefined;

  /**
   * @param env the environment to read. @default process.env
   * @param dotenvPath a `.env` file of KEY=VALUE lines; a path that does not exist counts as an empty file.
   */
  constructor(env: Readonly<Record<string, string | undefined>> = process.env, dotenvPath?: string) {
    this.env = env;
    this.dotenvPath = dotenvPath;
  }

  async get(name: SecretName | string): Promise<string | undefined> {
    const variable = secretVariable(name);
    let value = this.env[variable];
    if (value === undefined || value === '') value = (await this.loadFile())[variable];
    if (value === undefined || value === '') return undefined;
    registerSecret(value);
    return value;
  }

  private loadFile(): Promise<Record<string, string>> {
    if (this.dotenvPath === undefined) return Promise.resolve({});
    const path = this.dotenvPath;
    this.fileValues ??= readFile(path, 'utf8').then(
      (text) => parseDotenv(text, path),
      (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return {};
        throw new ConfigError(Reason.InvalidConfig, `cannot read ${path}`, { file: path, cause: err });
      },
    );
    return this.fileValues;
  }
}

/**
 * `KEY=VALUE` lines; blank lines and `#` comments are skipped, an `export ` prefix is allowed, a value in single quotes
 * is taken as written, one in double quotes understands `\n`, `\t`, `\"` and `\\`. Line numbers name a bad line;
 * the line itself is never echoed, it may hold a secret.
 */
export function parseDotenv(text: string, file = '.env'): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  for (const [index, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!match) {
      throw new ConfigError(Reason.InvalidConfig, 'expected KEY=VALUE', { file, line: index + 1 });
    }
    const [, key, rest] = match as unknown as [string, string, string];
    out[key] = unquote(rest);
  }
  return out;
}

function unquote(value: string): string {
  if (value.length >= 2 && value.startsWith("'") && value.endsWith("'")) return value.slice(1, -1);
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
    return value
      .slice(1, -1)
      .replace(/\\([nrt"\\])/g, (_m, c: string) => ({ n: '\n', r: '\r', t: '\t', '"': '"', '\\': '\\' })[c] ?? c);
  }
  // Unquoted: an inline comment starts at ` #`.
  const hash = value.search(/\s#/);
  return (hash === -1 ? value : value.slice(0, hash)).trim();
}
