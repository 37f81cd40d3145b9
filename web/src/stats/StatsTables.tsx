import type { StatsQuery } from "../gql/graphql";
import { formatCost, formatCount, formatDuration } from "../ui/format";

type Stats = StatsQuery["stats"];

export function StatsTables({ stats }: { stats: Stats }) {
  return (
    <div className="stats-tables">
      <section>
        <h2>Failed nodes</h2>
        <table data-testid="failed-nodes">
          <thead>
            <tr>
              <th>Node</th>
              <th className="numeric">Runs</th>
              <th className="numeric">Failures</th>
            </tr>
          </thead>
          <tbody>
            {stats.failedNodes.map((row) => (
              <tr key={row.node}>
                <td>{row.node}</td>
                <td className="numeric">{formatCount(row.runs)}</td>
                <td className="numeric">{formatCount(row.failures)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {stats.failedNodes.length === 0 && <p className="muted">No node failed.</p>}
      </section>
      <section>
        <h2>Stages</h2>
        <table>
          <thead>
            <tr>
              <th>Stage</th>
              <th className="numeric">Runs</th>
              <th className="numeric">Errors</th>
              <th className="numeric">p50</th>
              <th className="numeric">p95</th>
              <th className="numeric">p99</th>
            </tr>
          </thead>
          <tbody>
            {stats.stages.map((row) => (
              <tr key={row.stage}>
                <td>{row.stage}</td>
                <td className="numeric">{formatCount(row.count)}</td>
                <td className="numeric">{formatCount(row.errors)}</td>
                <td className="numeric">{formatDuration(row.latency.p50Ms)}</td>
                <td className="numeric">{formatDuration(row.latency.p95Ms)}</td>
                <td className="numeric">{formatDuration(row.latency.p99Ms)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section>
        <h2>Vendors and models</h2>
        <table>
          <thead>
            <tr>
              <th>Vendor</th>
              <th>Model</th>
              <th className="numeric">Calls</th>
              <th className="numeric">Errors</th>
              <th className="numeric">Rate limited</th>
              <th className="numeric">Tokens in / out</th>
              <th className="numeric">Cost</th>
            </tr>
          </thead>
          <tbody>
            {stats.usage.map((row) => (
              <tr key={`${row.vendor ?? ""}/${row.model ?? ""}`}>
                <td>{row.vendor ?? "–"}</td>
                <td>{row.model ?? "–"}</td>
                <td className="numeric">{formatCount(row.calls)}</td>
                <td className="numeric">{formatCount(row.errors)}</td>
                <td className="numeric">{formatCount(row.rateLimitHits)}</td>
                <td className="numeric">
                  {formatCount(row.inputTokens)} / {formatCount(row.outputTokens)}
                </td>
                <td className="numeric">{formatCost(row.cost)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </div>
  );
}
