/** The repository's configuration file. Its own module: code that names it need not load the config schema (zod). */
export const GITOPS_FILE = 'gitops.yaml';
