import { useMemo, useState } from "react";
import { useQuery } from "urql";

import type { Bucket } from "../gql/graphql";
import { formatCost, formatCount, formatDuration, formatPercent } from "../ui/format";
import { StatsCharts } from "./StatsCharts";
import { StatsTables } from "./StatsTables";
import { StatsQuery } from "./documents";

const RANGES: readonly { hours: number; label: string; bucket: Bucket }[] = [
  { hours: 1, label: "Last hour", bucket: "MINUTE" },
  { hours: 24, label: "Last 24 hours", bucket: "HOUR" },
  { hours: 168, label: "Last 7 days", bucket: "DAY" },
  { hours: 720, label: "Last 30 days", bucket: "DAY" },
];

export function StatsPage() {
  const [hours, setHours] = useState(24);
  const range = RANGES.find((candidate) => candidate.hours === hours) ?? RANGES[1]!;
  const variables = useMemo(() => ({ filter: { lastHours: range.hours }, bucket: range.bucket }), [range]);
  const [result, refetch] = useQuery({ query: StatsQuery, variables });
  const stats = result.data?.stats;

  return (
    <main className="stats-page">
      <header className="page-header">
        <h1>Stats</h1>
        <select aria-label="Time range" value={hours} onChange={(event) => setHours(Number(event.target.value))}>
          {RANGES.map((option) => (
            <option key={option.hours} value={option.hours}>
              {option.label}
            </option>
          ))}
        </select>
        <button type="button" onClick={() => refetch()} disabled={result.fetching}>
          Refresh
        </button>
      </header>
      {result.error && <p className="error" role="alert">{result.error.message}</p>}
      {stats && (
        <>
          <section className="tiles" aria-label="Totals">
            <Tile label="Runs" value={formatCount(stats.totalRuns)} />
            <Tile label="Success rate" value={formatPercent(stats.successRate)} />
            <Tile label="Duration p50" value={formatDuration(stats.duration.p50Ms)} />
            <Tile label="p95" value={formatDuration(stats.duration.p95Ms)} />
            <Tile label="p99" value={formatDuration(stats.duration.p99Ms)} />
            <Tile label="Average" value={formatDuration(stats.duration.avgMs)} />
            <Tile label="Cost" value={formatCost(stats.usage.reduce((sum, row) => sum + row.cost, 0))} />
          </section>
          <StatsCharts stats={stats} bucket={range.bucket} />
          <StatsTables stats={stats} />
        </>
      )}
    </main>
  );
}

function Tile({ label, value }: { label: string; value: string }) {
  return (
    <div className="tile">
      <span className="muted">{label}</span>
      <strong>{value}</strong>
    </div>
  );
}
