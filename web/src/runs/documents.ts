import { graphql } from "../gql";

export const RunRowFields = graphql(`
  fragment RunRow on Run {
    id
    agent
    status
    userId
    conversationId
    currentNode
    createdAt
    startedAt
    finishedAt
    durationMs
    stepCount
    errorCount
    inputTokens
    outputTokens
    cost
    failedNodes
    errorSummary
  }
`);

export const RunsQuery = graphql(`
  query Runs($filter: RunFilter, $first: Int!, $after: String) {
    runs(filter: $filter, first: $first, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      nodes {
        ...RunRow
      }
    }
  }
`);

export const RunUpdatesSubscription = graphql(`
  subscription RunUpdates($filter: RunFilter) {
    runUpdates(filter: $filter) {
      ...RunRow
    }
  }
`);
