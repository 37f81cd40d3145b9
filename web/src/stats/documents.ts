import { graphql } from "../gql";

export const StatsQuery = graphql(`
  query Stats($filter: StatsFilter, $bucket: Bucket) {
    stats(filter: $filter) {
      rangeStart
      rangeEnd
      totalRuns
      successRate
      byStatus {
        status
        count
      }
      duration {
        count
        avgMs
        p50Ms
        p95Ms
        p99Ms
      }
      failedNodes(first: 20) {
        node
        runs
        failures
      }
      stages(first: 50) {
        stage
        count
        errors
        latency {
          p50Ms
          p95Ms
          p99Ms
        }
      }
      usage {
        vendor
        model
        calls
        errors
        rateLimitHits
        inputTokens
        outputTokens
        cost
      }
      timeSeries(bucket: $bucket) {
        start
        runs
        failedRuns
        errors
        p95Ms
        cost
      }
    }
  }
`);
