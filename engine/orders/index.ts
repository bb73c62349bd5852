/**
 * Orders (issue 8): lab orders in from clinical services (IHE LTW LAB-1), kept in the store,
 * and sub-orders out to subcontracting labs (IHE ILW LAB-35). engine/orders imports engine/lab,
 * engine/reports (patient keys) and the store's interface; the results side reads orders to
 * know what "complete" means and which report a subcontractor's results belong to.
 */
export type * from './state';
export { activeTests, orderKey, refKey } from './state';
export { applyOrderChange, requisitionKey, setStatus } from './apply';
export type { OrderOutcome, SubcontractRule } from './apply';
export { orderChanges, testKey } from './from-hl7';
export type { OrderChange } from './from-hl7';
export { OrderBook } from './order-book';
export type { OrderBookOptions, OrderStore } from './order-book';
export { buildSubOrder, subOrderControlId } from './sub-order-message';
export { SubOrderSender } from './sub-order-sender';
export { OrdersDestination } from './orders-destination';
export { PlacerStatusLine, buildStatusMessage, placerStatusLine } from './placer-status';
