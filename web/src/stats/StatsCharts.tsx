import {
  Bar,
  BarChart,
  CartesianGrid,
  Legend,
  Line,
  LineChart,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from "recharts";

import type { Bucket, StatsQuery } from "../gql/graphql";
import { formatDuration } from "../ui/format";

type Stats = StatsQuery["stats"];

const STATUS_COLORS: Record<string, string> = {
  PENDING: "#9ca3af",
  RUNNING: "#3b82f6",
  NEEDS_REVIEW: "#f59e0b",
  COMPLETED: "#16a34a",
  PARTIAL: "#a3a30b",
  FAILED: "#dc2626",
  CANCELLED: "#6b7280",
  STALLED: "#9333ea",
};

function bucketLabel(iso: string, bucket: Bucket): string {
  const date = new Date(iso);
  if (bucket === "DAY") return date.toLocaleDateString("en-GB", { month: "short", day: "numeric" });
  return date.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" });
}

export function StatsCharts({ stats, bucket }: { stats: Stats; bucket: Bucket }) {
  const series = stats.timeSeries.map((point) => ({ ...point, label: bucketLabel(point.start, bucket) }));
  const byStatus = stats.byStatus.map((row) => ({ status: row.status.toLowerCase(), count: row.count, key: row.status }));
  return (
    <section className="charts" aria-label="Charts">
      <Chart title="Runs and failures">
        <LineChart data={series}>
          <CartesianGrid strokeDasharray="3 3" />
          <XAxis dataKey="label" minTickGap={24} />
          <YAxis allowDecimals={false} />
          <Tooltip />
          <Legend />
          <Line type="linear" dataKey="runs" name="runs" stroke="#3b82f6" dot={false} isAnimationActive={false} />
          <Line type="linear" dataKey="failedRuns" name="failed runs" stroke="#dc2626" dot={false} isAnimationActive={false} />
          <Line type="linear" dataKey="errors" name="failed steps" stroke="#f59e0b" dot={false} isAnimationActive={false} />
        </LineChart>
      </Chart>
      <Chart title="p95 duration">
        <LineChart data={series}>
          <CartesianGrid strokeDasharray="3 3" />
          <XAxis dataKey="label" minTickGap={24} />
          <YAxis tickFormatter={(value: number) => formatDuration(value)} width={70} />
          <Tooltip formatter={(value) => formatDuration(Number(value))} />
          <Line type="linear" dataKey="p95Ms" name="p95" stroke="#9333ea" dot={false} connectNulls isAnimationActive={false} />
        </LineChart>
      </Chart>
      <Chart title="Cost (USD)">
        <BarChart data={series}>
          <CartesianGrid strokeDasharray="3 3" />
          <XAxis dataKey="label" minTickGap={24} />
          <YAxis width={70} />
          <Tooltip />
          <Bar dataKey="cost" name="cost" fill="#16a34a" isAnimationActive={false} />
        </BarChart>
      </Chart>
      <Chart title="Runs by status">
        <BarChart data={byStatus}>
          <CartesianGrid strokeDasharray="3 3" />
          <XAxis dataKey="status" interval={0} fontSize={11} angle={-25} textAnchor="end" height={50} />
          <YAxis allowDecimals={false} />
          <Tooltip />
          <Bar dataKey="count" name="runs" isAnimationActive={false} fill="#3b82f6" shape={StatusBar} />
        </BarChart>
      </Chart>
    </section>
  );
}

/** A bar colored like the status it counts (the same colors as the badges). */
function StatusBar(props: unknown) {
  const { x, y, width, height, payload } = props as {
    x: number;
    y: number;
    width: number;
    height: number;
    payload: { key: string };
  };
  return <rect x={x} y={y} width={width} height={height} fill={STATUS_COLORS[payload.key] ?? "#3b82f6"} />;
}

function Chart({ title, children }: { title: string; children: React.ReactElement }) {
  return (
    <figure className="chart" data-testid="chart">
      <figcaption>{title}</figcaption>
      <ResponsiveContainer width="100%" height={220}>
        {children}
      </ResponsiveContainer>
    </figure>
  );
}
