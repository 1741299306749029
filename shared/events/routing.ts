import type { NotificationRoute } from '../model.ts';
import type { DetailType, Severity } from './catalog.ts';

const RANK: Readonly<Record<Severity, number>> = { info: 0, warning: 1, error: 2 };

/**
 * Whether the repository's `notifications` routes send this event to people (alerts: SNS mail and chat, Slack). No
 * routes means every alerting event goes out; with routes, an event goes out when one route names its detail-type
 * (or `*`), its severity is at least the route's, and its environment is one the route lists (or the route lists none).
 * Events are published either way: routing only decides who is told.
 */
export function shouldNotify(
  routes: readonly NotificationRoute[] | undefined,
  detailType: DetailType,
  detail: { readonly severity: Severity; readonly environment?: string },
): boolean {
  if (!routes?.length) return true;
  return routes.some(
    (route) =>
      (route.events.includes('*') || route.events.includes(detailType)) &&
      RANK[detail.severity] >= RANK[route.severity ?? 'info'] &&
      (!route.environments?.length ||
        (detail.environment !== undefined && route.environments.includes(detail.environment))),
  );
}
