/**
 * `npm run bench`: every benchmark in one run, each printing its ratios against a baseline measured in the same run.
 * The 100-client load run (bench/load.ts) is separate: `node --disable-proto=delete --import tsx bench/load.ts`.
 */
import { runSerializerBench } from './serializer.js';
import { runSoapBench } from './soap.js';
import { runDeliveryBench } from './delivery.js';
import { runRestBench } from './rest.js';
import { runCountersUnderLoad, runScrapeCost } from './metrics.js';
import { runExactJsonMemoryBench } from './exact-json-memory.js';

console.log('== serializer (bench/serializer.ts)');
await runSerializerBench();
console.log('\n== SOAP requests/s vs plain express (bench/soap.ts)');
await runSoapBench();
console.log('\n== RESTful face requests/s vs plain express (bench/rest.ts)');
await runRestBench();
console.log('\n== delivery (bench/delivery.ts)');
await runDeliveryBench();
console.log('\n== /metrics scrape cost and counters under load (bench/metrics.ts)');
await runScrapeCost();
await runCountersUnderLoad();
console.log('\n== heap per parsed Properties value vs JSON.parse (bench/exact-json-memory.ts)');
runExactJsonMemoryBench();
