/**
 * The console's pages (server-rendered HTML; static assets in ./static, served at /static/ by
 * the platform). Each entry is a ConsoleRoutes module the Console registers.
 */
import type { ConsoleRoutes } from '../context';
import { adminPageRoutes } from './pages/admin';
import { indicatorsPageRoutes } from './pages/indicators';
import { messageRoutes } from './pages/message';
import { messagesRoutes } from './pages/messages';
import { overviewRoutes } from './pages/overview';
import { reportRoutes } from './pages/report';

export const WEB_ROUTES: readonly ConsoleRoutes[] = [overviewRoutes, messagesRoutes, messageRoutes, reportRoutes, indicatorsPageRoutes];

/** The admin pages (audit log, users): platform route modules, they read the console store. */
export const ADMIN_PAGE_ROUTES = [adminPageRoutes] as const;
