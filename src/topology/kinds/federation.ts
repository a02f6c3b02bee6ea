// Federation: a federation upstream, the runtime parameter (federation-upstream, vhost, name). Its URI comes
// from the uriSecret (key uri); a Policy with federation-upstream applies it to exchanges or queues.
import { federationResource, type FederationSpec } from '../../api/index.ts';
import type { Parameter, ParameterValue } from '../../rabbitmq/types.ts';
import { identityOnly, parameterKind, valueOf, type ParameterWant } from './parameter.ts';
import type { TopologyKind } from './types.ts';
import { prepareUriSecret, secretUris } from './uri-secret.ts';

/** Wire key → spec field (or uriSecret key), for change lists. */
const federationFieldNames = {
  uri: 'uri',
  'prefetch-count': 'prefetch-count',
  'ack-mode': 'ackMode',
  expires: 'expires',
  'message-ttl': 'messageTTL',
  'max-hops': 'maxHops',
  'reconnect-delay': 'reconnectDelay',
  'trust-user-id': 'trustUserId',
  exchange: 'exchange',
  queue: 'queue',
  'queue-type': 'queueType',
  'resource-cleanup-mode': 'resourceCleanupMode',
} as const;

/** The federation upstream's value: the spec's settings and the URIs, in the broker's names. Pure. */
export function federationValue(spec: FederationSpec, uri: string[]): ParameterValue {
  const fields: Record<keyof typeof federationFieldNames, unknown> = {
    uri,
    'prefetch-count': spec['prefetch-count'],
    'ack-mode': spec.ackMode,
    expires: spec.expires,
    'message-ttl': spec.messageTTL,
    'max-hops': spec.maxHops,
    'reconnect-delay': spec.reconnectDelay,
    'trust-user-id': spec.trustUserId === true ? true : undefined,
    exchange: spec.exchange,
    queue: spec.queue,
    'queue-type': spec.queueType,
    'resource-cleanup-mode': spec.resourceCleanupMode,
  };
  return valueOf(fields);
}

export const federationKind: TopologyKind<FederationSpec, ParameterWant, Parameter> = {
  kind: 'Federation',
  resource: federationResource,
  prepare: prepareUriSecret(['uri']),
  deletionWant: (_obj, spec) => identityOnly(spec),
  deletionPolicy: (spec) => spec.deletionPolicy,
  desired: (spec, refs) => {
    const uri = secretUris(refs, spec.uriSecret.name, 'uri');
    if (!uri.ok) return uri;
    return { ok: true, want: { vhost: spec.vhost, name: spec.name, value: federationValue(spec, uri.uris) } };
  },
  ...parameterKind('federation-upstream', 'federation upstream', federationFieldNames),
};
