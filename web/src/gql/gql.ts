/* eslint-disable */
import * as types from './graphql';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  fragment RunHeader on Run {\n    id\n    agent\n    status\n    userId\n    conversationId\n    tags\n    currentNode\n    createdAt\n    startedAt\n    finishedAt\n    durationMs\n    stepCount\n    errorCount\n    inputTokens\n    outputTokens\n    cost\n    errorSummary\n    externalTraceUrl\n  }\n": typeof types.RunHeaderFragmentDoc,
    "\n  fragment StepRow on Step {\n    id\n    parentId\n    seq\n    name\n    type\n    status\n    startedAt\n    endedAt\n    latencyMs\n    model\n    inputTokens\n    outputTokens\n    cost\n    errorMessage\n  }\n": typeof types.StepRowFragmentDoc,
    "\n  query RunEventCount($id: ID!) {\n    run(id: $id) {\n      ...RunHeader\n      events(first: 1) {\n        totalCount\n      }\n    }\n  }\n": typeof types.RunEventCountDocument,
    "\n  query RunStepsPage($id: ID!, $after: String) {\n    run(id: $id) {\n      id\n      steps(first: 1000, after: $after) {\n        pageInfo {\n          hasNextPage\n          endCursor\n        }\n        nodes {\n          ...StepRow\n        }\n      }\n    }\n  }\n": typeof types.RunStepsPageDocument,
    "\n  subscription RunEventBatches($runId: ID!, $afterSeq: Int!) {\n    runEventBatches(runId: $runId, afterSeq: $afterSeq) {\n      lastSeq\n      events {\n        seq\n        kind\n        data\n        step {\n          ...StepRow\n        }\n      }\n    }\n  }\n": typeof types.RunEventBatchesDocument,
    "\n  fragment ArtifactFields on Artifact {\n    id\n    stepId\n    role\n    name\n    mimeType\n    sizeBytes\n    downloadUrl\n  }\n": typeof types.ArtifactFieldsFragmentDoc,
    "\n  query StepDetail($id: ID!) {\n    step(id: $id) {\n      ...StepRow\n      vendor\n      errorCode\n      errorTraceback\n      input(full: true)\n      output(full: true)\n      payload(full: true)\n      cachedInputTokens\n      documents {\n        id\n        score\n        content\n      }\n      artifacts {\n        ...ArtifactFields\n      }\n      details(full: true) {\n        __typename\n        ... on NodeDetails {\n          node\n          input\n          output\n        }\n        ... on InputDetails {\n          value\n        }\n        ... on OutputDetails {\n          value\n        }\n        ... on ThoughtDetails {\n          text\n          reasoning\n        }\n        ... on ToolCallDetails {\n          toolName\n          arguments\n          result\n        }\n        ... on ToolResultDetails {\n          toolName\n          isError\n          output\n        }\n        ... on LlmCallDetails {\n          model\n          vendor\n          prompt\n          completion\n          inputTokens\n          outputTokens\n          cost\n        }\n        ... on ValidationDetails {\n          check\n          passed\n          details\n        }\n        ... on PlanUpdateDetails {\n          plan\n        }\n        ... on ErrorDetails {\n          code\n          message\n          traceback\n        }\n        ... on InfoDetails {\n          message\n          data\n        }\n      }\n    }\n  }\n": typeof types.StepDetailDocument,
    "\n  mutation ApproveReview($id: ID!, $note: String) {\n    approveReview(id: $id, note: $note) {\n      ...RunHeader\n    }\n  }\n": typeof types.ApproveReviewDocument,
    "\n  mutation RejectReview($id: ID!, $note: String) {\n    rejectReview(id: $id, note: $note) {\n      ...RunHeader\n    }\n  }\n": typeof types.RejectReviewDocument,
    "\n  fragment RunRow on Run {\n    id\n    agent\n    status\n    userId\n    conversationId\n    currentNode\n    createdAt\n    startedAt\n    finishedAt\n    durationMs\n    stepCount\n    errorCount\n    inputTokens\n    outputTokens\n    cost\n    failedNodes\n    errorSummary\n  }\n": typeof types.RunRowFragmentDoc,
    "\n  query Runs($filter: RunFilter, $first: Int!, $after: String) {\n    runs(filter: $filter, first: $first, after: $after) {\n      totalCount\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      nodes {\n        ...RunRow\n      }\n    }\n  }\n": typeof types.RunsDocument,
    "\n  subscription RunUpdates($filter: RunFilter) {\n    runUpdates(filter: $filter) {\n      ...RunRow\n    }\n  }\n": typeof types.RunUpdatesDocument,
    "\n  query Stats($filter: StatsFilter, $bucket: Bucket) {\n    stats(filter: $filter) {\n      rangeStart\n      rangeEnd\n      totalRuns\n      successRate\n      byStatus {\n        status\n        count\n      }\n      duration {\n        count\n        avgMs\n        p50Ms\n        p95Ms\n        p99Ms\n      }\n      failedNodes(first: 20) {\n        node\n        runs\n        failures\n      }\n      stages(first: 50) {\n        stage\n        count\n        errors\n        latency {\n          p50Ms\n          p95Ms\n          p99Ms\n        }\n      }\n      usage {\n        vendor\n        model\n        calls\n        errors\n        rateLimitHits\n        inputTokens\n        outputTokens\n        cost\n      }\n      timeSeries(bucket: $bucket) {\n        start\n        runs\n        failedRuns\n        errors\n        p95Ms\n        cost\n      }\n    }\n  }\n": typeof types.StatsDocument,
};
const documents: Documents = {
    "\n  fragment RunHeader on Run {\n    id\n    agent\n    status\n    userId\n    conversationId\n    tags\n    currentNode\n    createdAt\n    startedAt\n    finishedAt\n    durationMs\n    stepCount\n    errorCount\n    inputTokens\n    outputTokens\n    cost\n    errorSummary\n    externalTraceUrl\n  }\n": types.RunHeaderFragmentDoc,
    "\n  fragment StepRow on Step {\n    id\n    parentId\n    seq\n    name\n    type\n    status\n    startedAt\n    endedAt\n    latencyMs\n    model\n    inputTokens\n    outputTokens\n    cost\n    errorMessage\n  }\n": types.StepRowFragmentDoc,
    "\n  query RunEventCount($id: ID!) {\n    run(id: $id) {\n      ...RunHeader\n      events(first: 1) {\n        totalCount\n      }\n    }\n  }\n": types.RunEventCountDocument,
    "\n  query RunStepsPage($id: ID!, $after: String) {\n    run(id: $id) {\n      id\n      steps(first: 1000, after: $after) {\n        pageInfo {\n          hasNextPage\n          endCursor\n        }\n        nodes {\n          ...StepRow\n        }\n      }\n    }\n  }\n": types.RunStepsPageDocument,
    "\n  subscription RunEventBatches($runId: ID!, $afterSeq: Int!) {\n    runEventBatches(runId: $runId, afterSeq: $afterSeq) {\n      lastSeq\n      events {\n        seq\n        kind\n        data\n        step {\n          ...StepRow\n        }\n      }\n    }\n  }\n": types.RunEventBatchesDocument,
    "\n  fragment ArtifactFields on Artifact {\n    id\n    stepId\n    role\n    name\n    mimeType\n    sizeBytes\n    downloadUrl\n  }\n": types.ArtifactFieldsFragmentDoc,
    "\n  query StepDetail($id: ID!) {\n    step(id: $id) {\n      ...StepRow\n      vendor\n      errorCode\n      errorTraceback\n      input(full: true)\n      output(full: true)\n      payload(full: true)\n      cachedInputTokens\n      documents {\n        id\n        score\n        content\n      }\n      artifacts {\n        ...ArtifactFields\n      }\n      details(full: true) {\n        __typename\n        ... on NodeDetails {\n          node\n          input\n          output\n        }\n        ... on InputDetails {\n          value\n        }\n        ... on OutputDetails {\n          value\n        }\n        ... on ThoughtDetails {\n          text\n          reasoning\n        }\n        ... on ToolCallDetails {\n          toolName\n          arguments\n          result\n        }\n        ... on ToolResultDetails {\n          toolName\n          isError\n          output\n        }\n        ... on LlmCallDetails {\n          model\n          vendor\n          prompt\n          completion\n          inputTokens\n          outputTokens\n          cost\n        }\n        ... on ValidationDetails {\n          check\n          passed\n          details\n        }\n        ... on PlanUpdateDetails {\n          plan\n        }\n        ... on ErrorDetails {\n          code\n          message\n          traceback\n        }\n        ... on InfoDetails {\n          message\n          data\n        }\n      }\n    }\n  }\n": types.StepDetailDocument,
    "\n  mutation ApproveReview($id: ID!, $note: String) {\n    approveReview(id: $id, note: $note) {\n      ...RunHeader\n    }\n  }\n": types.ApproveReviewDocument,
    "\n  mutation RejectReview($id: ID!, $note: String) {\n    rejectReview(id: $id, note: $note) {\n      ...RunHeader\n    }\n  }\n": types.RejectReviewDocument,
    "\n  fragment RunRow on Run {\n    id\n    agent\n    status\n    userId\n    conversationId\n    currentNode\n    createdAt\n    startedAt\n    finishedAt\n    durationMs\n    stepCount\n    errorCount\n    inputTokens\n    outputTokens\n    cost\n    failedNodes\n    errorSummary\n  }\n": types.RunRowFragmentDoc,
    "\n  query Runs($filter: RunFilter, $first: Int!, $after: String) {\n    runs(filter: $filter, first: $first, after: $after) {\n      totalCount\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      nodes {\n        ...RunRow\n      }\n    }\n  }\n": types.RunsDocument,
    "\n  subscription RunUpdates($filter: RunFilter) {\n    runUpdates(filter: $filter) {\n      ...RunRow\n    }\n  }\n": types.RunUpdatesDocument,
    "\n  query Stats($filter: StatsFilter, $bucket: Bucket) {\n    stats(filter: $filter) {\n      rangeStart\n      rangeEnd\n      totalRuns\n      successRate\n      byStatus {\n        status\n        count\n      }\n      duration {\n        count\n        avgMs\n        p50Ms\n        p95Ms\n        p99Ms\n      }\n      failedNodes(first: 20) {\n        node\n        runs\n        failures\n      }\n      stages(first: 50) {\n        stage\n        count\n        errors\n        latency {\n          p50Ms\n          p95Ms\n          p99Ms\n        }\n      }\n      usage {\n        vendor\n        model\n        calls\n        errors\n        rateLimitHits\n        inputTokens\n        outputTokens\n        cost\n      }\n      timeSeries(bucket: $bucket) {\n        start\n        runs\n        failedRuns\n        errors\n        p95Ms\n        cost\n      }\n    }\n  }\n": types.StatsDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment RunHeader on Run {\n    id\n    agent\n    status\n    userId\n    conversationId\n    tags\n    currentNode\n    createdAt\n    startedAt\n    finishedAt\n    durationMs\n    stepCount\n    errorCount\n    inputTokens\n    outputTokens\n    cost\n    errorSummary\n    externalTraceUrl\n  }\n"): (typeof documents)["\n  fragment RunHeader on Run {\n    id\n    agent\n    status\n    userId\n    conversationId\n    tags\n    currentNode\n    createdAt\n    startedAt\n    finishedAt\n    durationMs\n    stepCount\n    errorCount\n    inputTokens\n    outputTokens\n    cost\n    errorSummary\n    externalTraceUrl\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment StepRow on Step {\n    id\n    parentId\n    seq\n    name\n    type\n    status\n    startedAt\n    endedAt\n    latencyMs\n    model\n    inputTokens\n    outputTokens\n    cost\n    errorMessage\n  }\n"): (typeof documents)["\n  fragment StepRow on Step {\n    id\n    parentId\n    seq\n    name\n    type\n    status\n    startedAt\n    endedAt\n    latencyMs\n    model\n    inputTokens\n    outputTokens\n    cost\n    errorMessage\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query RunEventCount($id: ID!) {\n    run(id: $id) {\n      ...RunHeader\n      events(first: 1) {\n        totalCount\n      }\n    }\n  }\n"): (typeof documents)["\n  query RunEventCount($id: ID!) {\n    run(id: $id) {\n      ...RunHeader\n      events(first: 1) {\n        totalCount\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query RunStepsPage($id: ID!, $after: String) {\n    run(id: $id) {\n      id\n      steps(first: 1000, after: $after) {\n        pageInfo {\n          hasNextPage\n          endCursor\n        }\n        nodes {\n          ...StepRow\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query RunStepsPage($id: ID!, $after: String) {\n    run(id: $id) {\n      id\n      steps(first: 1000, after: $after) {\n        pageInfo {\n          hasNextPage\n          endCursor\n        }\n        nodes {\n          ...StepRow\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription RunEventBatches($runId: ID!, $afterSeq: Int!) {\n    runEventBatches(runId: $runId, afterSeq: $afterSeq) {\n      lastSeq\n      events {\n        seq\n        kind\n        data\n        step {\n          ...StepRow\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  subscription RunEventBatches($runId: ID!, $afterSeq: Int!) {\n    runEventBatches(runId: $runId, afterSeq: $afterSeq) {\n      lastSeq\n      events {\n        seq\n        kind\n        data\n        step {\n          ...StepRow\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment ArtifactFields on Artifact {\n    id\n    stepId\n    role\n    name\n    mimeType\n    sizeBytes\n    downloadUrl\n  }\n"): (typeof documents)["\n  fragment ArtifactFields on Artifact {\n    id\n    stepId\n    role\n    name\n    mimeType\n    sizeBytes\n    downloadUrl\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query StepDetail($id: ID!) {\n    step(id: $id) {\n      ...StepRow\n      vendor\n      errorCode\n      errorTraceback\n      input(full: true)\n      output(full: true)\n      payload(full: true)\n      cachedInputTokens\n      documents {\n        id\n        score\n        content\n      }\n      artifacts {\n        ...ArtifactFields\n      }\n      details(full: true) {\n        __typename\n        ... on NodeDetails {\n          node\n          input\n          output\n        }\n        ... on InputDetails {\n          value\n        }\n        ... on OutputDetails {\n          value\n        }\n        ... on ThoughtDetails {\n          text\n          reasoning\n        }\n        ... on ToolCallDetails {\n          toolName\n          arguments\n          result\n        }\n        ... on ToolResultDetails {\n          toolName\n          isError\n          output\n        }\n        ... on LlmCallDetails {\n          model\n          vendor\n          prompt\n          completion\n          inputTokens\n          outputTokens\n          cost\n        }\n        ... on ValidationDetails {\n          check\n          passed\n          details\n        }\n        ... on PlanUpdateDetails {\n          plan\n        }\n        ... on ErrorDetails {\n          code\n          message\n          traceback\n        }\n        ... on InfoDetails {\n          message\n          data\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query StepDetail($id: ID!) {\n    step(id: $id) {\n      ...StepRow\n      vendor\n      errorCode\n      errorTraceback\n      input(full: true)\n      output(full: true)\n      payload(full: true)\n      cachedInputTokens\n      documents {\n        id\n        score\n        content\n      }\n      artifacts {\n        ...ArtifactFields\n      }\n      details(full: true) {\n        __typename\n        ... on NodeDetails {\n          node\n          input\n          output\n        }\n        ... on InputDetails {\n          value\n        }\n        ... on OutputDetails {\n          value\n        }\n        ... on ThoughtDetails {\n          text\n          reasoning\n        }\n        ... on ToolCallDetails {\n          toolName\n          arguments\n          result\n        }\n        ... on ToolResultDetails {\n          toolName\n          isError\n          output\n        }\n        ... on LlmCallDetails {\n          model\n          vendor\n          prompt\n          completion\n          inputTokens\n          outputTokens\n          cost\n        }\n        ... on ValidationDetails {\n          check\n          passed\n          details\n        }\n        ... on PlanUpdateDetails {\n          plan\n        }\n        ... on ErrorDetails {\n          code\n          message\n          traceback\n        }\n        ... on InfoDetails {\n          message\n          data\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ApproveReview($id: ID!, $note: String) {\n    approveReview(id: $id, note: $note) {\n      ...RunHeader\n    }\n  }\n"): (typeof documents)["\n  mutation ApproveReview($id: ID!, $note: String) {\n    approveReview(id: $id, note: $note) {\n      ...RunHeader\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RejectReview($id: ID!, $note: String) {\n    rejectReview(id: $id, note: $note) {\n      ...RunHeader\n    }\n  }\n"): (typeof documents)["\n  mutation RejectReview($id: ID!, $note: String) {\n    rejectReview(id: $id, note: $note) {\n      ...RunHeader\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment RunRow on Run {\n    id\n    agent\n    status\n    userId\n    conversationId\n    currentNode\n    createdAt\n    startedAt\n    finishedAt\n    durationMs\n    stepCount\n    errorCount\n    inputTokens\n    outputTokens\n    cost\n    failedNodes\n    errorSummary\n  }\n"): (typeof documents)["\n  fragment RunRow on Run {\n    id\n    agent\n    status\n    userId\n    conversationId\n    currentNode\n    createdAt\n    startedAt\n    finishedAt\n    durationMs\n    stepCount\n    errorCount\n    inputTokens\n    outputTokens\n    cost\n    failedNodes\n    errorSummary\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Runs($filter: RunFilter, $first: Int!, $after: String) {\n    runs(filter: $filter, first: $first, after: $after) {\n      totalCount\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      nodes {\n        ...RunRow\n      }\n    }\n  }\n"): (typeof documents)["\n  query Runs($filter: RunFilter, $first: Int!, $after: String) {\n    runs(filter: $filter, first: $first, after: $after) {\n      totalCount\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      nodes {\n        ...RunRow\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription RunUpdates($filter: RunFilter) {\n    runUpdates(filter: $filter) {\n      ...RunRow\n    }\n  }\n"): (typeof documents)["\n  subscription RunUpdates($filter: RunFilter) {\n    runUpdates(filter: $filter) {\n      ...RunRow\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Stats($filter: StatsFilter, $bucket: Bucket) {\n    stats(filter: $filter) {\n      rangeStart\n      rangeEnd\n      totalRuns\n      successRate\n      byStatus {\n        status\n        count\n      }\n      duration {\n        count\n        avgMs\n        p50Ms\n        p95Ms\n        p99Ms\n      }\n      failedNodes(first: 20) {\n        node\n        runs\n        failures\n      }\n      stages(first: 50) {\n        stage\n        count\n        errors\n        latency {\n          p50Ms\n          p95Ms\n          p99Ms\n        }\n      }\n      usage {\n        vendor\n        model\n        calls\n        errors\n        rateLimitHits\n        inputTokens\n        outputTokens\n        cost\n      }\n      timeSeries(bucket: $bucket) {\n        start\n        runs\n        failedRuns\n        errors\n        p95Ms\n        cost\n      }\n    }\n  }\n"): (typeof documents)["\n  query Stats($filter: StatsFilter, $bucket: Bucket) {\n    stats(filter: $filter) {\n      rangeStart\n      rangeEnd\n      totalRuns\n      successRate\n      byStatus {\n        status\n        count\n      }\n      duration {\n        count\n        avgMs\n        p50Ms\n        p95Ms\n        p99Ms\n      }\n      failedNodes(first: 20) {\n        node\n        runs\n        failures\n      }\n      stages(first: 50) {\n        stage\n        count\n        errors\n        latency {\n          p50Ms\n          p95Ms\n          p99Ms\n        }\n      }\n      usage {\n        vendor\n        model\n        calls\n        errors\n        rateLimitHits\n        inputTokens\n        outputTokens\n        cost\n      }\n      timeSeries(bucket: $bucket) {\n        start\n        runs\n        failedRuns\n        errors\n        p95Ms\n        cost\n      }\n    }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;