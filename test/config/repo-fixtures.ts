/** A repository with gitops.yaml, three environments and five stacks, shared by the config and render tests. */
import type { MemoryFile } from './memory-snapshot.ts';

export const TEMPLATE = 'Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n';

export const FULL_GITOPS = `# three environments, five stacks
defaults:
  region: eu-west-1
  tags: { owner: platform, costCenter: "0042" }
  syncPolicy: { automated: true, prune: true }
environments:
  - name: dev
    role: arn:aws:iam::111111111111:role/deployer
    branch: main
    parameters: { LogLevel: debug }
    tags: { env: dev }
  - name: staging
    region: eu-central-1
    role: arn:aws:iam::222222222222:role/deployer
    externalId: staging-ext
    tags: { env: staging }
  - name: prod
    region: us-east-1
    role: arn:aws:iam::333333333333:role/deployer
    syncPolicy: { automated: false, selfHeal: true }
    tags: { env: prod }
stacks:
  - deploymentFile: deploy/network.yaml
  - name: app
    template: templates/app.yaml
    dependsOn: [network, data]
    parameters: { Memory: 512, Version: 1.10 }
    tags: { team: app }
    alarms: [app-5xx]
    overrides:
      prod:
        stackName: app-production
        parameters: { Memory: 2048 }
        tags: { team: app-prod }
  - deploymentFiles: "deploy/services/*.yaml"
    dependsOn: [network]
    environments: [dev, prod]
  - name: data
    template: templates/data.yaml
    dependsOn: [network]
    serviceRole: arn:aws:iam::111111111111:role/cfn-service
    stackName: "{env}-data"
notifications:
  - events: ["Sync Failed", "Drift Detected"]
    severity: warning
    environments: [prod]
`;

export const FULL_FILES: Record<string, MemoryFile> = {
  'gitops.yaml': FULL_GITOPS,
  'deploy/network.yaml': 'template-file-path: templates/network.yaml\nparameters:\n  Cidr: 10.0.0.0/16\n',
  'deploy/services/queue.yaml': 'template-file-path: templates/queue.yaml\ntags:\n  svc: queue\n',
  'deploy/services/cache.yaml': 'template-file-path: templates/cache.yaml\n',
  'templates/network.yaml': TEMPLATE,
  'templates/app.yaml': TEMPLATE,
  'templates/data.yaml': TEMPLATE,
  'templates/queue.yaml': TEMPLATE,
  'templates/cache.yaml': TEMPLATE,
};
