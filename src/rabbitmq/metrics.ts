// Request metrics of the management API client. Labels are the HTTP method and status
// code only (no broker, vhost or object names: unbounded cardinality and possibly private).
import { Counter, Histogram, type Registry } from 'prom-client';

export interface ManagementMetrics {
  observe(method: string, code: string, seconds: number): void;
}

const requestsName = 'warren_management_requests_total';
const durationName = 'warren_management_request_duration_seconds';

/** Registers (or finds, when called twice with one registry) the client's metrics. */
export function managementMetrics(registry: Registry): ManagementMetrics {
  const requests =
    (registry.getSingleMetric(requestsName) as Counter<'method' | 'code'> | undefined) ??
    new Counter({
      name: requestsName,
      help: 'Requests to RabbitMQ management APIs, by HTTP method and status code ("error" when no response arrived).',
      labelNames: ['method', 'code'] as const,
      registers: [registry],
    });
  const duration =
    (registry.getSingleMetric(durationName) as Histogram<'method'> | undefined) ??
    new Histogram({
      name: durationName,
      help: 'Duration of requests to RabbitMQ management APIs in seconds, each attempt counted on its own.',
      labelNames: ['method'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    });
  return {
    observe(method, code, seconds) {
      requests.inc({ method, code });
      duration.observe({ method }, seconds);
    },
  };
}

// A process-wide tally by method, readable without a registry (the benchmark diffs two reads).
const processCounts = new Map<string, number>();

export function countRequest(method: string): void {
  processCounts.set(method, (processCounts.get(method) ?? 0) + 1);
}

/** Requests sent by every client in this process so far, by HTTP method. */
export function managementRequestCounts(): Record<string, number> {
  return Object.fromEntries(processCounts);
}

/** The requests made between two reads of managementRequestCounts(). */
export function requestCountsSince(before: Record<string, number>): Record<string, number> {
  const result: Record<string, number> = {};
  for (const [method, count] of processCounts) {
    const delta = count - (before[method] ?? 0);
    if (delta > 0) result[method] = delta;
  }
  return result;
}
