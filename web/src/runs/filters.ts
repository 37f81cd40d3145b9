import type { RunFilter, RunStatus } from "../gql/graphql";

/** The runs page's filters, as they sit in the address bar (shareable, survive reloads). */
export interface RunsFilterState {
  status: RunStatus | "";
  agent: string;
  userId: string;
  conversationId: string;
  failedNode: string;
  search: string;
  lastHours: string;
  from: string;
  to: string;
}

const FIELDS: readonly (keyof RunsFilterState)[] = [
  "status",
  "agent",
  "userId",
  "conversationId",
  "failedNode",
  "search",
  "lastHours",
  "from",
  "to",
];

export function filterFromParams(params: URLSearchParams): RunsFilterState {
  const state = Object.fromEntries(FIELDS.map((field) => [field, params.get(field) ?? ""]));
  return state as unknown as RunsFilterState;
}

export function paramsFromFilter(filter: RunsFilterState): URLSearchParams {
  const params = new URLSearchParams();
  for (const field of FIELDS) if (filter[field]) params.set(field, filter[field]);
  return params;
}

/** The GraphQL filter; empty fields narrow nothing. `from`/`to` are local datetime-input
 * values, sent as instants. */
export function toRunFilter(state: RunsFilterState): RunFilter {
  const filter: RunFilter = {};
  if (state.status) filter.status = [state.status];
  if (state.agent.trim()) filter.agent = [state.agent.trim()];
  if (state.userId.trim()) filter.userId = state.userId.trim();
  if (state.conversationId.trim()) filter.conversationId = state.conversationId.trim();
  if (state.failedNode.trim()) filter.failedNode = state.failedNode.trim();
  if (state.search.trim()) filter.errorText = state.search.trim();
  if (state.lastHours) filter.lastHours = Number(state.lastHours);
  else {
    if (state.from) filter.from = new Date(state.from).toISOString();
    if (state.to) filter.to = new Date(state.to).toISOString();
  }
  return filter;
}
