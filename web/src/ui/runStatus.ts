import type { RunStatus } from "../gql/graphql";

/** Whether a run in each status has ended; a Record, so a status the schema adds fails to
 * compile here instead of being missed by a list somewhere. */
const ENDED: Record<RunStatus, boolean> = {
  PENDING: false,
  RUNNING: false,
  NEEDS_REVIEW: false,
  COMPLETED: true,
  PARTIAL: true,
  FAILED: true,
  CANCELLED: true,
  STALLED: false,
};

export const RUN_STATUSES = Object.keys(ENDED) as readonly RunStatus[];

export function isEnded(status: RunStatus): boolean {
  return ENDED[status];
}
