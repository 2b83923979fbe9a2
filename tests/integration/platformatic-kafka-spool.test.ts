// The broker-outage scenarios of kafka-spool.test.ts (a publisher spooling through a broker stop,
// a consumer that gets going again once the broker is back, no event lost) on PlatformaticKafkaBus.
process.env.DRIFTGATE_TEST_KAFKA_CLIENT = 'platformatic';
await import('./kafka-spool.test.js');
