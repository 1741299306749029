/**
 * THE definition of the repository format: the root `gitops.yaml` and CloudFormation Git sync deployment files. The
 * loader validates with these schemas and the JSON Schemas in `schema/` (editor completion) are generated from them,
 * so the two can never disagree. Objects are strict: a misspelt field is an error, not silently ignored.
 */
import * as z from 'zod';
import { DetailType } from '../events/catalog.ts';

/** Names used in stack keys (`env/stack`), events and CloudFormation stack names. */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const name = (what: string) =>
  z
    .string()
    .regex(NAME_PATTERN, `${what} must start with a letter or digit and use only letters, digits, ".", "_" and "-"`);

/** `eu-west-1`, `us-gov-west-1`, `cn-north-1`, `ap-southeast-5`... */
const region = z
  .string()
  .regex(/^[a-z]{2}(?:-[a-z]+)+-\d+$/, 'not an AWS region name (like eu-west-1)')
  .describe('AWS region, e.g. eu-west-1');

const iamRoleArn = z
  .string()
  .regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/, 'not an IAM role ARN (arn:aws:iam::<account>:role/<name>)');

/**
 * A parameter value as written. YAML numbers and booleans are accepted (the loader keeps their source text, so
 * `1.10` stays "1.10"); a list becomes the comma-separated form CloudFormation expects for CommaDelimitedList.
 */
/**
 * Capabilities CloudFormation must be told the template needs. lambda-gitops infers them (IAM resources, named IAM
 * resources, transforms, nested stacks); declare one when inference cannot see it (a macro that adds IAM resources,
 * a nested template outside the repository).
 */
export const capabilitiesSchema = z
  .array(z.enum(['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM', 'CAPABILITY_AUTO_EXPAND']))
  .describe('Capabilities acknowledged for the stack, added to the inferred ones');

const parameterValue = z
  .union([z.string(), z.number(), z.boolean(), z.array(z.union([z.string(), z.number()]))], {
    error: 'a parameter value must be a string, a number, a boolean or a list of them',
  })
  .transform((v) => (Array.isArray(v) ? v.join(',') : String(v)))
  .describe(
    'A value; "ssm:/path" reads an SSM parameter at deploy time, "output:<stack>.<Output>" takes a dependency\'s output',
  );
export const parameterMap = z.record(z.string().min(1), parameterValue).describe('CloudFormation parameter values');

const tagValue = z
  .union([z.string(), z.number(), z.boolean()], { error: 'a tag value must be a string' })
  .transform((v) => String(v));
export const tagMap = z.record(z.string().min(1), tagValue).describe('Stack tags (at most 50, keys not starting aws:)');

const stackNamePattern = z
  .string()
  .min(1)
  .describe('CloudFormation stack name; "{stack}" and "{env}" are replaced. Default "{stack}-{env}"');

/** A relative, forward-slash path inside the repository (checked again, with symlinks, when it is read). */
const repoPath = z.string().min(1).describe('Path from the repository root');

export const syncPolicySchema = z
  .strictObject({
    automated: z.boolean().optional().describe('Apply every new revision; false stops at "Plan Ready". Default true'),
    prune: z.boolean().optional().describe('Delete stacks that were removed from Git. Default false'),
    selfHeal: z.boolean().optional().describe('Revert resource drift with a drift-reverting change set. Default false'),
  })
  .describe('When and how changes are applied');

// ------------------------------------------------------------------ Git sync deployment file

/** The CloudFormation Git sync deployment file, unchanged: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/git-sync-concepts-terms.html */
export const deploymentFileSchema = z
  .strictObject({
    'template-file-path': repoPath.describe('Path of the template from the repository root'),
    parameters: parameterMap.optional(),
    tags: tagMap.optional(),
  })
  .describe('CloudFormation Git sync stack deployment file');
export type DeploymentFile = z.output<typeof deploymentFileSchema>;

// ------------------------------------------------------------------ gitops.yaml

const overrideSchema = z
  .strictObject({
    stackName: stackNamePattern.optional(),
    region: region.optional(),
    parameters: parameterMap.optional(),
    tags: tagMap.optional(),
    capabilities: capabilitiesSchema.optional(),
  })
  .describe('Per-environment overrides of this stack; they win over the environment and the stack');

const stackSchema = z
  .strictObject({
    name: name('a stack name').optional().describe('Stack name in the repository; defaults to the file name'),
    template: repoPath.optional().describe('Template path (with name); the alternative to a deployment file'),
    deploymentFile: repoPath.optional().describe('A CloudFormation Git sync deployment file'),
    deploymentFiles: z
      .string()
      .min(1)
      .optional()
      .describe('A glob of deployment files (e.g. "deploy/*.yaml"); each becomes a stack named after its file'),
    parameters: parameterMap.optional(),
    tags: tagMap.optional(),
    dependsOn: z.array(name('a stack name')).optional().describe('Stacks (same environment) applied before this one'),
    environments: z
      .array(name('an environment name'))
      .optional()
      .describe('Environments this stack is deployed to. Default: all'),
    overrides: z.record(name('an environment name'), overrideSchema).optional(),
    stackName: stackNamePattern.optional(),
    alarms: z.array(z.string().min(1)).optional().describe('CloudWatch alarms that must be OK after an apply'),
    serviceRole: iamRoleArn.optional().describe('CloudFormation service role for this stack'),
    recreateOnRollbackComplete: z
      .boolean()
      .optional()
      .describe('Delete a stack left in ROLLBACK_COMPLETE so it can be created again. Default true'),
    notSecrets: z
      .array(z.string().min(1).max(1024))
      .max(100)
      .optional()
      .describe(
        'Values the secret guard would refuse that are deliberately not secrets, by path: parameters.<Name>, tags.<Key>, Parameters.<Name>.Default, Resources.<LogicalId>.Properties.<Property>…',
      ),
    capabilities: capabilitiesSchema.optional(),
  })
  .superRefine((stack, ctx) => {
    const sources = (['template', 'deploymentFile', 'deploymentFiles'] as const).filter((k) => stack[k] !== undefined);
    if (sources.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message:
          sources.length === 0
            ? 'a stack needs one of template, deploymentFile or deploymentFiles'
            : `a stack takes only one of ${sources.join(', ')}`,
      });
    }
    if (stack.template !== undefined && stack.name === undefined) {
      ctx.addIssue({ code: 'custom', path: ['name'], message: 'a stack with a template needs a name' });
    }
    if (stack.deploymentFiles !== undefined && stack.name !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['name'],
        message: 'stacks matched by deploymentFiles are named after their files; remove name',
      });
    }
  });

const environmentSchema = z.strictObject({
  name: name('an environment name'),
  region: region.optional().describe('Default: defaults.region, then the installation region'),
  role: iamRoleArn.optional().describe('Role assumed for this environment (another account)'),
  externalId: z.string().min(2).max(1224).optional(),
  branch: z.string().min(1).optional().describe('Branch this environment follows. Default: the repository branch'),
  syncPolicy: syncPolicySchema.optional(),
  parameters: parameterMap
    .optional()
    .describe('Parameter values for every stack of this environment whose template declares them'),
  tags: tagMap.optional(),
  capabilities: capabilitiesSchema.optional().describe('Capabilities acknowledged for every stack of this environment'),
});

const notificationSchema = z.strictObject({
  events: z
    .array(
      z.union([z.enum(Object.values(DetailType) as [string, ...string[]]), z.literal('*')], {
        error: `not an event; use one of ${Object.values(DetailType).join(', ')} or "*"`,
      }),
    )
    .min(1)
    .describe('Event detail-types to send ("*": all)'),
  severity: z.enum(['info', 'warning', 'error']).optional().describe('Only events of at least this severity'),
  environments: z.array(name('an environment name')).optional(),
});

const signingSchema = z
  .strictObject({
    required: z.boolean().optional().describe('Refuse to apply commits not signed by one of the keys. Default true'),
    keys: z.array(z.string().includes('BEGIN PGP PUBLIC KEY BLOCK')).optional().describe('Armored OpenPGP keys'),
    ssmKeys: z.array(z.string().min(1)).optional().describe('SSM parameter names holding armored public keys'),
  })
  .refine((s) => s.required === false || (s.keys?.length ?? 0) + (s.ssmKeys?.length ?? 0) > 0, {
    message: 'signing.required needs at least one key in keys or ssmKeys',
  });

export const gitopsFileSchema = z
  .strictObject({
    $schema: z.string().optional(),
    defaults: z
      .strictObject({
        region: region.optional(),
        tags: tagMap.optional(),
        parameters: parameterMap.optional(),
        syncPolicy: syncPolicySchema.optional(),
        stackName: stackNamePattern.optional(),
      })
      .optional(),
    environments: z.array(environmentSchema).min(1),
    stacks: z.array(stackSchema).default([]),
    notifications: z.array(notificationSchema).optional(),
    signing: signingSchema.optional(),
  })
  .describe('lambda-gitops repository configuration (gitops.yaml)');
export type GitopsFile = z.output<typeof gitopsFileSchema>;
