// Shovel: a dynamic shovel, the runtime parameter (shovel, vhost, name). Its URIs come from the uriSecret
// (keys srcUri and destUri); the rest of the value from the spec, under the broker's hyphenated names.
import { shovelResource, type ShovelSpec } from '../../api/index.ts';
import type { Parameter, ParameterValue } from '../../rabbitmq/types.ts';
import { identityOnly, parameterKind, valueOf, type ParameterWant } from './parameter.ts';
import type { TopologyKind } from './types.ts';
import { prepareUriSecret, secretUris } from './uri-secret.ts';

/** Wire key → spec field (or uriSecret key), for change lists. */
const shovelFieldNames = {
  'src-uri': 'srcUri',
  'dest-uri': 'destUri',
  'ack-mode': 'ackMode',
  'prefetch-count': 'prefetchCount',
  'reconnect-delay': 'reconnectDelay',
  'add-forward-headers': 'addForwardHeaders',
  'delete-after': 'deleteAfter',
  'src-delete-after': 'srcDeleteAfter',
  'src-prefetch-count': 'srcPrefetchCount',
  'dest-add-forward-headers': 'destAddForwardHeaders',
  'dest-add-timestamp-header': 'destAddTimestampHeader',
  'dest-protocol': 'destProtocol',
  'dest-queue': 'destQueue',
  'dest-exchange': 'destExchange',
  'dest-exchange-key': 'destExchangeKey',
  'dest-publish-properties': 'destPublishProperties',
  'dest-queue-args': 'destQueueArgs',
  'dest-address': 'destAddress',
  'dest-application-properties': 'destApplicationProperties',
  'dest-properties': 'destProperties',
  'dest-message-annotations': 'destMessageAnnotations',
  'src-protocol': 'srcProtocol',
  'src-queue': 'srcQueue',
  'src-exchange': 'srcExchange',
  'src-exchange-key': 'srcExchangeKey',
  'src-consumer-args': 'srcConsumerArgs',
  'src-queue-args': 'srcQueueArgs',
  'src-address': 'srcAddress',
} as const;

/** `"5"` is a number of messages on the wire; `never` and `queue-length` stay words. */
function deleteAfter(value: string | undefined): string | number | undefined {
  return value !== undefined && /^[0-9]+$/.test(value) ? Number(value) : value;
}

/** A map option the broker only gets when it has entries (an empty map means the same as none). */
function nonEmpty(map: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  return map === undefined || Object.keys(map).length === 0 ? undefined : map;
}

/** The shovel parameter's value: the spec's settings and the URIs, in the broker's names. Pure. */
export function shovelValue(spec: ShovelSpec, srcUri: string[], destUri: string[]): ParameterValue {
  const booleanOption = (on: boolean | undefined) => (on === true ? true : undefined);
  const fields: Record<keyof typeof shovelFieldNames, unknown> = {
    'src-uri': srcUri,
    'dest-uri': destUri,
    'ack-mode': spec.ackMode,
    'prefetch-count': spec.prefetchCount,
    'reconnect-delay': spec.reconnectDelay,
    'add-forward-headers': booleanOption(spec.addForwardHeaders),
    'delete-after': deleteAfter(spec.deleteAfter),
    'src-delete-after': deleteAfter(spec.srcDeleteAfter),
    'src-prefetch-count': spec.srcPrefetchCount,
    'dest-add-forward-headers': booleanOption(spec.destAddForwardHeaders),
    'dest-add-timestamp-header': booleanOption(spec.destAddTimestampHeader),
    'dest-protocol': spec.destProtocol,
    'dest-queue': spec.destQueue,
    'dest-exchange': spec.destExchange,
    'dest-exchange-key': spec.destExchangeKey,
    'dest-publish-properties': nonEmpty(spec.destPublishProperties),
    'dest-queue-args': nonEmpty(spec.destQueueArgs),
    'dest-address': spec.destAddress,
    'dest-application-properties': nonEmpty(spec.destApplicationProperties),
    'dest-properties': nonEmpty(spec.destProperties),
    'dest-message-annotations': nonEmpty(spec.destMessageAnnotations),
    'src-protocol': spec.srcProtocol,
    'src-queue': spec.srcQueue,
    'src-exchange': spec.srcExchange,
    'src-exchange-key': spec.srcExchangeKey,
    'src-consumer-args': nonEmpty(spec.srcConsumerArgs),
    'src-queue-args': nonEmpty(spec.srcQueueArgs),
    'src-address': spec.srcAddress,
  };
  return valueOf(fields);
}

export const shovelKind: TopologyKind<ShovelSpec, ParameterWant, Parameter> = {
  kind: 'Shovel',
  resource: shovelResource,
  prepare: prepareUriSecret(['srcUri', 'destUri']),
  deletionWant: (_obj, spec) => identityOnly(spec),
  deletionPolicy: (spec) => spec.deletionPolicy,
  desired: (spec, refs) => {
    const src = secretUris(refs, spec.uriSecret.name, 'srcUri');
    if (!src.ok) return src;
    const dest = secretUris(refs, spec.uriSecret.name, 'destUri');
    if (!dest.ok) return dest;
    return {
      ok: true,
      want: { vhost: spec.vhost, name: spec.name, value: shovelValue(spec, src.uris, dest.uris) },
    };
  },
  // A shovel with delete-after moves what it was asked to and deletes itself; restoring it would move more
  // (upstream brings it back after a restart, MTO#835). A change of the spec runs it again.
  deletesItself: (want) =>
    [want.value['src-delete-after'], want.value['delete-after']].some(
      (v) => v !== undefined && v !== 'never',
    ),
  ...parameterKind('shovel', 'shovel', shovelFieldNames),
};
