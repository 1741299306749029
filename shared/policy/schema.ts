/**
 * THE definition of the installation policy: what the owner of an installation allows each repository to deploy.
 * The repository is untrusted input; this file is not — it comes from the installation (a construct prop, `-c policy`,
 * `--policy FILE`, `GITOPS_POLICY`), never from a commit. A commit can only narrow what it allows.
 */
import * as z from 'zod';

const CAPABILITIES = ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM', 'CAPABILITY_AUTO_EXPAND'] as const;

const account = z
  .union([z.string(), z.number()])
  .transform((v) => String(v))
  .pipe(z.string().regex(/^\d{12}$/, 'an AWS account id is 12 digits'));

const region = z.string().regex(/^[a-z]{2}(?:-[a-z]+)+-\d+$/, 'not an AWS region name (like eu-west-1)');

const roleArn = z
  .string()
  .regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/, 'not an IAM role ARN (arn:aws:iam::<account>:role/<name>)');

/** `AWS::IAM::*`, `AWS::S3::Bucket`, `Custom::*`: `*` matches any run of characters. */
const typePattern = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[A-Za-z0-9:*_-]+$/, 'a resource type pattern uses letters, digits, "::" and "*" (like AWS::IAM::*)');

export const environmentPolicySchema = z.strictObject({
  branch: z.string().min(1).max(255).optional().describe('The only branch that deploys this environment'),
  accounts: z.array(account).min(1).optional().describe('Accounts the environment may deploy to'),
  regions: z.array(region).min(1).optional().describe('Regions the environment may deploy to'),
  role: roleArn.optional().describe('The role assumed for this environment; a commit cannot name another'),
  externalId: z.string().min(2).max(1224).optional(),
  serviceRole: roleArn
    .optional()
    .describe('The only CloudFormation service role a stack of this environment may name in gitops.yaml'),
});

export const repositoryPolicySchema = z.strictObject({
  repo: z.string().min(1).max(2048).describe('Repository URL (or local path); matched without ".git" and trailing "/"'),
  stackNamePrefix: z
    .string()
    .regex(/^[A-Za-z][-A-Za-z0-9]{0,63}$/, 'a stack name prefix is a letter, then letters, digits and "-"')
    .optional()
    .describe("Prepended to this repository's stack names"),
  capabilities: z
    .array(z.enum(CAPABILITIES))
    .optional()
    .describe('Capabilities its stacks may need. Default: none (no IAM, no macros)'),
  resourceTypes: z
    .strictObject({
      allow: z.array(typePattern).max(500).optional().describe('Allowed resource types. Default: all ("*")'),
      deny: z.array(typePattern).max(500).optional().describe('Denied resource types; deny wins over allow'),
    })
    .optional(),
  environments: z
    .record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, 'an environment name'), environmentPolicySchema)
    .describe('The environments this repository may deploy, and how'),
});

export const installationPolicySchema = z
  .strictObject({
    $schema: z.string().optional(),
    repositories: z.array(repositoryPolicySchema).max(1000),
  })
  .describe('lambda-gitops installation policy');

export type EnvironmentPolicy = z.output<typeof environmentPolicySchema>;
export type RepositoryPolicy = z.output<typeof repositoryPolicySchema>;
/** A loaded policy, with where it came from for messages (`policy.yaml`, `GITOPS_POLICY`). */
export type InstallationPolicy = z.output<typeof installationPolicySchema> & { readonly origin: string };
