// The api stack's Lambda code. `Code: ../functions/api` in templates/api.yaml names this folder; lambda-gitops zips
// it deterministically (the same files give the same zip and hash) and uploads it where the stack runs.
export const handler = async (event) => ({
  statusCode: 200,
  body: JSON.stringify({ ok: true, path: event.rawPath, table: process.env.TABLE_NAME }),
});
