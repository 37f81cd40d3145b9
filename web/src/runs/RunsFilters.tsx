import type { RunStatus } from "../gql/graphql";
import { formatEnum } from "../ui/format";
import { RUN_STATUSES } from "../ui/runStatus";
import type { RunsFilterState } from "./filters";

const RANGES: readonly [string, string][] = [
  ["", "any time"],
  ["1", "last hour"],
  ["6", "last 6 hours"],
  ["24", "last 24 hours"],
  ["168", "last 7 days"],
  ["720", "last 30 days"],
];

type TextField = "agent" | "userId" | "conversationId" | "failedNode" | "search";
const TEXT_FIELDS: readonly [TextField, string][] = [
  ["agent", "Agent"],
  ["userId", "User"],
  ["conversationId", "Conversation"],
  ["failedNode", "Failed node"],
  ["search", "Error text"],
];

// Reports what changed, not a whole new state: two edits in quick succession must both
// land, even when the second comes before a render has shown the first.
export function RunsFilters(props: {
  value: RunsFilterState;
  onChange: (patch: Partial<RunsFilterState>) => void;
}) {
  const { value, onChange: set } = props;
  return (
    <form className="filters" onSubmit={(event) => event.preventDefault()} aria-label="Filter runs">
      <label>
        Status
        <select
          name="status"
          value={value.status}
          onChange={(event) => set({ status: event.target.value as RunStatus | "" })}
        >
          <option value="">any</option>
          {RUN_STATUSES.map((status) => (
            <option key={status} value={status}>
              {formatEnum(status)}
            </option>
          ))}
        </select>
      </label>
      {TEXT_FIELDS.map(([field, label]) => (
        <label key={field}>
          {label}
          <input
            name={field}
            type="search"
            value={value[field]}
            onChange={(event) => set({ [field]: event.target.value })}
          />
        </label>
      ))}
      <label>
        Created
        <select name="lastHours" value={value.lastHours} onChange={(event) => set({ lastHours: event.target.value })}>
          {RANGES.map(([hours, label]) => (
            <option key={hours} value={hours}>
              {label}
            </option>
          ))}
        </select>
      </label>
      {value.lastHours === "" && (
        <>
          <label>
            From
            <input name="from" type="datetime-local" value={value.from} onChange={(event) => set({ from: event.target.value })} />
          </label>
          <label>
            To
            <input name="to" type="datetime-local" value={value.to} onChange={(event) => set({ to: event.target.value })} />
          </label>
        </>
      )}
    </form>
  );
}
