// Status conditions in the metav1.Condition shape. lastTransitionTime moves only when the status flips,
// so `kubectl get` shows how long something has been true or false, not when the operator last looked.
import { redactText } from './logger.ts';

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  type: string;
  status: ConditionStatus;
  /** Stable CamelCase word (`BrokerUnreachable`), for automation. */
  reason: string;
  /** A sentence for people. */
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export interface ConditionInput {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
}

/** RFC 3339 without fractions (metav1.Time has second precision). */
export function conditionTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * A new list with `input` set: other conditions are kept in order, an existing condition of the same type is
 * replaced in place, a new one is appended. lastTransitionTime is kept unless the status changed.
 */
/** The API's limit on a condition message; a longer one fails the whole status write with 422. */
export const CONDITION_MESSAGE_LIMIT = 32_768;
const TRUNCATED = ' … (cut to the API limit)';

function withinLimit(message: string): string {
  return message.length <= CONDITION_MESSAGE_LIMIT
    ? message
    : message.slice(0, CONDITION_MESSAGE_LIMIT - TRUNCATED.length) + TRUNCATED;
}

export function setCondition(
  conditions: readonly Condition[] | undefined,
  input: ConditionInput,
  observedGeneration: number | undefined,
  now: Date = new Date(),
): Condition[] {
  const list = [...(conditions ?? [])];
  const index = list.findIndex((c) => c.type === input.type);
  const previous = index === -1 ? undefined : list[index];
  const next: Condition = {
    type: input.type,
    status: input.status,
    reason: input.reason,
    // Redacted as Events and logs are: a message may quote input that holds a credential (a config line).
    message: withinLimit(redactText(input.message)),
    lastTransitionTime:
      previous && previous.status === input.status ? previous.lastTransitionTime : conditionTime(now),
    ...(observedGeneration !== undefined ? { observedGeneration } : {}),
  };
  if (index === -1) list.push(next);
  else list[index] = next;
  return list;
}

export function findCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function isConditionTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return findCondition(conditions, type)?.status === 'True';
}

export function removeCondition(conditions: readonly Condition[] | undefined, type: string): Condition[] {
  return (conditions ?? []).filter((c) => c.type !== type);
}
