import type { RunHeaderFragment } from "../gql/graphql";
import { elapsedMs, formatCost, formatCount, formatDuration, formatTime } from "../ui/format";
import { StatusBadge } from "../ui/StatusBadge";
import { ReviewActions } from "./ReviewActions";

export function RunHeader(props: { run: RunHeaderFragment; now: number; onChange: (run: RunHeaderFragment) => void }) {
  const { run, now } = props;
  const duration = run.durationMs ?? (run.finishedAt ? null : elapsedMs(run.startedAt, null, now));
  return (
    <header className="run-header">
      <div className="run-title">
        <h1>{run.agent}</h1>
        <StatusBadge status={run.status} />
        <code className="muted">{run.id}</code>
      </div>
      <dl className="run-facts">
        <Fact label="Created" value={formatTime(run.createdAt)} />
        <Fact label="Started" value={formatTime(run.startedAt)} />
        <Fact label="Finished" value={formatTime(run.finishedAt)} />
        <Fact label="Duration" value={formatDuration(duration)} />
        <Fact label="Steps" value={formatCount(run.stepCount)} />
        <Fact label="Failed steps" value={formatCount(run.errorCount)} />
        <Fact label="Tokens in / out" value={`${formatCount(run.inputTokens)} / ${formatCount(run.outputTokens)}`} />
        <Fact label="Cost" value={formatCost(run.cost)} />
        {run.userId && <Fact label="User" value={run.userId} />}
        {run.conversationId && <Fact label="Conversation" value={run.conversationId} />}
        {run.currentNode && <Fact label="Node" value={run.currentNode} />}
        {run.tags.length > 0 && <Fact label="Tags" value={run.tags.join(", ")} />}
      </dl>
      {run.errorSummary && (
        <p className="error" data-testid="run-error">
          {run.errorSummary}
        </p>
      )}
      {run.externalTraceUrl && (
        <a href={run.externalTraceUrl} target="_blank" rel="noreferrer">
          External trace
        </a>
      )}
      {run.status === "NEEDS_REVIEW" && <ReviewActions runId={run.id} onChange={props.onChange} />}
    </header>
  );
}

function Fact({ label, value }: { label: string; value: string }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd>{value}</dd>
    </div>
  );
}
