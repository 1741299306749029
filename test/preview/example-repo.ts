/** The bundled example as a real Git repository, synced into a local state folder, for preview tests. */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { sync } from '../../shared/engine/sync.ts';
import { consoleLogger } from '../../shared/log.ts';
import { localDeps } from '../../shared/runtime/local-deps.ts';
import { createWorkRepo, type GitEnv, git, gitText, makeGitEnv } from '../helpers/git-repo.ts';

export interface ExampleRepo {
  readonly genv: GitEnv;
  readonly dir: string;
  readonly state: string;
  /** Creates `branch` from main, applies `edits` (path → edit of the file's text, or null to delete) and commits. */
  branch(
    branch: string,
    edits: Record<string, ((text: string) => string) | null>,
    message?: string,
    from?: string,
  ): string;
  deps(): ReturnType<typeof localDeps>;
}

export async function syncedExample(): Promise<ExampleRepo> {
  const genv = makeGitEnv();
  const dir = createWorkRepo(genv, mkdtempSync(join(tmpdir(), 'gitops-preview-repo-')));
  cpSync(resolve('examples'), dir, { recursive: true });
  git(genv, dir, ['add', '-A']);
  git(genv, dir, ['commit', '-qm', 'Import the example']);
  const state = mkdtempSync(join(tmpdir(), 'gitops-preview-state-'));
  const deps = () =>
    localDeps({ repo: dir, stateDir: state, logger: consoleLogger({ level: 'error' }), console: false });
  const report = await sync(deps(), {});
  if (report.failed.length) throw new Error(`the example did not sync: ${report.failed.join(', ')}`);
  return {
    genv,
    dir,
    state,
    deps,
    branch(branch, edits, message = `Change on ${branch}`, from = 'main') {
      git(genv, dir, ['checkout', '-q', '-B', branch, from]);
      for (const [path, edit] of Object.entries(edits)) {
        const file = join(dir, path);
        if (edit === null) git(genv, dir, ['rm', '-q', path]);
        else writeFileSync(file, edit(readFileSync(file, 'utf8')));
      }
      git(genv, dir, ['add', '-A']);
      git(genv, dir, ['commit', '-q', '--allow-empty', '-m', message]);
      const sha = gitText(genv, dir, ['rev-parse', 'HEAD']);
      git(genv, dir, ['checkout', '-q', 'main']);
      return sha;
    },
  };
}

/** Names the orders table: CloudFormation replaces a DynamoDB table whose TableName changes. */
export const renameOrdersTable = (text: string): string =>
  text.replace(
    '    Properties:\n      BillingMode: !Ref TableBillingMode',
    '    Properties:\n      TableName: !Sub "${AWS::StackName}-orders-v2"\n      BillingMode: !Ref TableBillingMode',
  );

/** Names the exports bucket: a second change that replaces a resource. */
export const renameExportsBucket = (text: string): string =>
  text.replace(
    '  Exports:\n    Type: AWS::S3::Bucket\n    Properties:\n',
    '  Exports:\n    Type: AWS::S3::Bucket\n    Properties:\n      BucketName: !Sub "${AWS::StackName}-exports-v2"\n',
  );

/** Adds an IAM user to the data stack: a resource type an installation policy may deny. */
export const addIamUser = (text: string): string =>
  text.replace(
    '  Exports:\n    Type: AWS::S3::Bucket\n',
    '  Admin:\n    Type: AWS::IAM::User\n  Exports:\n    Type: AWS::S3::Bucket\n',
  );

/**
 * An installation policy for the example (as YAML, for `parsePolicy` or a `--policy` file): its environments and prod
 * role as the example declares them, every capability, and no IAM users.
 */
export const examplePolicy = (repo: string): string => `repositories:
  - repo: ${JSON.stringify(repo)}
    capabilities: [CAPABILITY_IAM, CAPABILITY_NAMED_IAM, CAPABILITY_AUTO_EXPAND]
    resourceTypes:
      deny: ["AWS::IAM::User"]
    environments:
      dev: { branch: main }
      staging: { branch: main }
      prod: { branch: main, role: "arn:aws:iam::111111111111:role/lambda-gitops-deployer" }
`;
