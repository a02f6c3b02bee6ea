// The write fence: what every write of the operator passes first, to the API server and to anything else it
// manages. The leader elector is one (it lets writes through only while the Lease's time is not spent); a
// process without leader election passes everything.

/** Thrown by a write this process may not make: it does not hold the Lease, or the Lease's time is spent. */
export class LeadershipLostError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LeadershipLostError';
  }
}

/** Returns when this process may write now; throws LeadershipLostError otherwise. Synchronous and cheap. */
export interface WriteFence {
  assertValid(): void;
}

export function isLeadershipLost(err: unknown): err is LeadershipLostError {
  return err instanceof LeadershipLostError;
}

/** Lets every write through: leader election is off. */
export const openFence: WriteFence = { assertValid: () => undefined };
