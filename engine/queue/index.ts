export * from './types';
export { OrderedQueue, ORDERED_QUEUE_DEFAULTS, MAX_JOB_BYTES, encodeJobId, decodeJobId } from './ordered-queue';
export type { AddJob, StopOptions } from './ordered-queue';
export { PartitionLeases, fnv1a } from './partition-leases';
export type { PartitionLeaseHooks, PartitionLeasesOptions, StopReason } from './partition-leases';
