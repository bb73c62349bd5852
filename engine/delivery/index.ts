export * from './destination';
export * from './file-destination';
export * from './mllp-destination';
