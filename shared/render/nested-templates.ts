/**
 * Local paths in templates, as `aws cloudformation package` reads them: relative to the template that names them,
 * kept inside the repository. Nested templates (`AWS::CloudFormation::Stack` `TemplateURL: ./network.yaml`,
 * `AWS::Serverless::Application` `Location: ./app.yaml`) are read and packaged by these rules (packaging.ts), within
 * the bounds below; their files become inputs of the stack and their resources' capabilities the parent's.
 */
import { posix } from 'node:path';
import { ConfigError, Reason } from '../errors.ts';

/** Nesting deeper than this is refused (CloudFormation itself allows 5 levels below the root in practice). */
export const MAX_NESTING_DEPTH = 5;
/** Nested templates read for one stack, all levels. */
export const MAX_NESTED_TEMPLATES = 50;

/** A property value that is a path in the repository rather than a URL (`https://`, `s3://`) or an intrinsic. */
export function localPathOf(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0) return undefined;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return undefined;
  return value;
}

/**
 * Resolves `reference` (written in `fromFile`) to a repository path: relative to the directory of `fromFile`, never
 * above the repository root, never absolute.
 */
export function repoPathFrom(fromFile: string, reference: string, field: string): string {
  const where = { file: fromFile, field };
  if (reference.startsWith('/') || /^[A-Za-z]:[\\/]/.test(reference) || reference.startsWith('\\')) {
    throw new ConfigError(
      Reason.PathEscape,
      `${fromFile}: ${field}: "${reference}" is absolute; use a path relative to the template`,
      where,
    );
  }
  const joined = posix.normalize(posix.join(posix.dirname(fromFile), reference.replaceAll('\\', '/')));
  if (joined === '..' || joined.startsWith('../') || joined === '.' || joined === '') {
    throw new ConfigError(
      Reason.PathEscape,
      `${fromFile}: ${field}: "${reference}" leaves the repository; paths must stay inside it`,
      where,
    );
  }
  return joined;
}
