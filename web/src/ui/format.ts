/** How numbers and times read in tables: short, and "–" for unknown. */

export function formatDuration(ms: number | null | undefined): string {
  if (ms == null) return "–";
  if (ms < 1) return "<1 ms";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 60) return `${minutes}m ${Math.round((ms % 60_000) / 1000)}s`;
  return `${Math.floor(minutes / 60)}h ${minutes % 60}m`;
}

export function formatCost(usd: number | null | undefined): string {
  if (usd == null) return "–";
  if (usd === 0) return "$0";
  if (usd < 0.01) return `$${usd.toFixed(5)}`;
  return `$${usd.toFixed(2)}`;
}

export function formatCount(value: number | null | undefined): string {
  return value == null ? "–" : value.toLocaleString("en-US");
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return "–";
  const date = new Date(iso);
  const sameDay = date.toDateString() === new Date().toDateString();
  return sameDay
    ? date.toLocaleTimeString("en-GB")
    : date.toLocaleString("en-GB", { dateStyle: "short", timeStyle: "medium" });
}

export function formatPercent(ratio: number | null | undefined): string {
  return ratio == null ? "–" : `${(ratio * 100).toFixed(1)}%`;
}

/** Milliseconds between two ISO times, or until now while `end` is unknown. */
export function elapsedMs(start: string | null | undefined, end: string | null | undefined, now = Date.now()): number | null {
  if (!start) return null;
  return (end ? Date.parse(end) : now) - Date.parse(start);
}

/** An enum value as words: "NEEDS_REVIEW" reads "needs review". */
export function formatEnum(value: string): string {
  return value.toLowerCase().replace("_", " ");
}
