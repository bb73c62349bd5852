import type { PlatformRoutes } from './platform';
import { sessionRoutes } from './api/session-routes';
import { channelRoutes } from './api/channels';
import { queueRoutes } from './api/queues';
import { healthRoutes } from './api/health';
import { metricsRoutes } from './api/metrics';
import { userRoutes } from './api/users';
import { auditRoutes } from './api/audit';
import { oidcRoutes } from './api/oidc-routes';
import { ADMIN_PAGE_ROUTES } from './web';

/** The platform's own routes, registered by every Console before the route modules it is given. */
export const PLATFORM_ROUTES: readonly PlatformRoutes[] = [sessionRoutes, oidcRoutes, channelRoutes, queueRoutes, healthRoutes, metricsRoutes, userRoutes, auditRoutes, ...ADMIN_PAGE_ROUTES];
