import { formatEnum } from "./format";

/** A run or step status as a colored pill; the color classes live in styles.css. */
export function StatusBadge({ status }: { status: string }) {
  return (
    <span className={`status status-${status.toLowerCase()}`} data-status={status}>
      {formatEnum(status)}
    </span>
  );
}
