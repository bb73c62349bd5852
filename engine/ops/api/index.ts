/**
 * The console's JSON routes of messages, reports, deliveries, operator actions and indicators
 * (ConsoleRoutes modules; the platform's own API routes are registered by the Console itself).
 */
import type { ConsoleRoutes } from '../context';
import { actionRoutes } from './actions';
import { deliveryRoutes } from './deliveries';
import { indicatorRoutes } from './indicators';
import { messageRoutes } from './messages';
import { reportRoutes } from './reports';

export const API_ROUTES: readonly ConsoleRoutes[] = [messageRoutes, reportRoutes, deliveryRoutes, actionRoutes, indicatorRoutes];
