/** A run or step status as a colored pill; the color classes live in styles.css. */
export function StatusBadge({ status }: { status: string }) {
  const label = status.toLowerCase().replace("_", " ");
  return (
    <span className={`status status-${status.toLowerCase()}`} data-status={status}>
      {label}
    </span>
  );
}
