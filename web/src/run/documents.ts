import { graphql } from "../gql";

export const RunHeaderFields = graphql(`
  fragment RunHeader on Run {
    id
    agent
    status
    userId
    conversationId
    tags
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
    errorSummary
    externalTraceUrl
  }
`);

export const StepRowFields = graphql(`
  fragment StepRow on Step {
    id
    parentId
    seq
    name
    type
    status
    startedAt
    endedAt
    latencyMs
    model
    inputTokens
    outputTokens
    cost
    errorMessage
  }
`);

/** The event count first: the steps read after it include every event up to it, so the
 * live stream can start after it without a gap (overlap is merged away). */
export const RunEventCountQuery = graphql(`
  query RunEventCount($id: ID!) {
    run(id: $id) {
      ...RunHeader
      events(first: 1) {
        totalCount
      }
    }
  }
`);

export const RunStepsPageQuery = graphql(`
  query RunStepsPage($id: ID!, $after: String) {
    run(id: $id) {
      id
      steps(first: 1000, after: $after) {
        pageInfo {
          hasNextPage
          endCursor
        }
        nodes {
          ...StepRow
        }
      }
    }
  }
`);

export const RunEventBatchesSubscription = graphql(`
  subscription RunEventBatches($runId: ID!, $afterSeq: Int!) {
    runEventBatches(runId: $runId, afterSeq: $afterSeq) {
      lastSeq
      events {
        seq
        kind
        data
        step {
          ...StepRow
        }
      }
    }
  }
`);

export const ArtifactFields = graphql(`
  fragment ArtifactFields on Artifact {
    id
    stepId
    role
    name
    mimeType
    sizeBytes
    downloadUrl
  }
`);

export const StepDetailQuery = graphql(`
  query StepDetail($id: ID!) {
    step(id: $id) {
      ...StepRow
      vendor
      errorCode
      errorTraceback
      input(full: true)
      output(full: true)
      payload(full: true)
      cachedInputTokens
      documents {
        id
        score
        content
      }
      artifacts {
        ...ArtifactFields
      }
      details(full: true) {
        __typename
        ... on NodeDetails {
          node
          input
          output
        }
        ... on InputDetails {
          value
        }
        ... on OutputDetails {
          value
        }
        ... on ThoughtDetails {
          text
          reasoning
        }
        ... on ToolCallDetails {
          toolName
          arguments
          result
        }
        ... on ToolResultDetails {
          toolName
          isError
          output
        }
        ... on LlmCallDetails {
          model
          vendor
          prompt
          completion
          inputTokens
          outputTokens
          cost
        }
        ... on ValidationDetails {
          check
          passed
          details
        }
        ... on PlanUpdateDetails {
          plan
        }
        ... on ErrorDetails {
          code
          message
          traceback
        }
        ... on InfoDetails {
          message
          data
        }
      }
    }
  }
`);

export const ApproveReviewMutation = graphql(`
  mutation ApproveReview($id: ID!, $note: String) {
    approveReview(id: $id, note: $note) {
      ...RunHeader
    }
  }
`);

export const RejectReviewMutation = graphql(`
  mutation RejectReview($id: ID!, $note: String) {
    rejectReview(id: $id, note: $note) {
      ...RunHeader
    }
  }
`);
