/** Unit tests (*.test.ts) and integration tests against real Redis/PostgreSQL/sockets (*.int.test.ts). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test', '<rootDir>/engine'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': 'ts-jest' },
  // The ANS kit and the HL7 corpus, found or fetched once (engine/config/reference-data.ts).
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  testTimeout: 60000,
  maxWorkers: 2,
};
