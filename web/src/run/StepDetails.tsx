import { useEffect, useRef, type ReactNode } from "react";
import { useQuery } from "urql";

import type { StepDetailQuery } from "../gql/graphql";
import { formatCost, formatCount, formatDuration, formatEnum, formatTime } from "../ui/format";
import { Json } from "../ui/Json";
import { StatusBadge } from "../ui/StatusBadge";
import { ArtifactList } from "./ArtifactList";
import { DocumentList } from "./DocumentList";
import { StepDetailQuery as StepDetailDocument } from "./documents";
import type { StepRow } from "./liveSteps";

type Details = NonNullable<StepDetailQuery["step"]>["details"];

/** The selected step in full: its typed payload first, then the raw JSON. Re-read when the
 * live stream changes the step (it ended, failed...). */
export function StepDetails(props: { step: StepRow; artifactSeq: number }) {
  const { step, artifactSeq } = props;
  const [result, refetch] = useQuery({ query: StepDetailDocument, variables: { id: step.id } });
  useEffect(() => {
    if (result.data?.step && result.data.step.status !== step.status) refetch();
  }, [refetch, result.data, step.status]);
  // A file added after the details were read: read them again.
  const readAtArtifactSeq = useRef(artifactSeq);
  useEffect(() => {
    if (artifactSeq !== readAtArtifactSeq.current) {
      readAtArtifactSeq.current = artifactSeq;
      refetch();
    }
  }, [artifactSeq, refetch]);

  const full = result.data?.step;
  return (
    <aside className="step-details" aria-label="Step details" data-step-id={step.id}>
      <header>
        <h2>{step.name}</h2>
        <StatusBadge status={step.status} />
        <span className="muted">
          #{step.seq} · {formatEnum(step.type)}
        </span>
      </header>
      <dl className="run-facts">
        <div>
          <dt>Started</dt>
          <dd>{formatTime(step.startedAt)}</dd>
        </div>
        <div>
          <dt>Latency</dt>
          <dd>{formatDuration(step.latencyMs)}</dd>
        </div>
      </dl>
      {result.error && <p className="error">{result.error.message}</p>}
      {full?.status === "FAILED" || full?.errorMessage ? (
        <section className="step-error" data-testid="step-error">
          <h3>Error{full.errorCode ? `: ${full.errorCode}` : ""}</h3>
          <p>{full.errorMessage}</p>
          {full.errorTraceback && <pre className="traceback">{full.errorTraceback}</pre>}
        </section>
      ) : null}
      {full && <TypedDetails details={full.details} cachedInputTokens={full.cachedInputTokens} />}
      {full && <DocumentList documents={full.documents} />}
      {full && <ArtifactList artifacts={full.artifacts} />}
      {full && (
        <details className="raw">
          <summary>Raw input, output and payload</summary>
          <h3>Input</h3>
          <Json value={full.input} />
          <h3>Output</h3>
          <Json value={full.output} />
          <h3>Payload</h3>
          <Json value={full.payload} />
        </details>
      )}
    </aside>
  );
}

function TypedDetails({ details, cachedInputTokens }: { details: Details; cachedInputTokens: number | null }) {
  switch (details.__typename) {
    case "ThoughtDetails":
      return (
        <Section title="Thought">
          <p className="thought">{details.text}</p>
          {details.reasoning && <p className="muted">{details.reasoning}</p>}
        </Section>
      );
    case "ToolCallDetails":
      return (
        <Section title={`Tool: ${details.toolName}`}>
          <h4>Arguments</h4>
          <Json value={details.arguments} />
          <h4>Result</h4>
          <Json value={details.result} />
        </Section>
      );
    case "ToolResultDetails":
      return (
        <Section title={`Result of ${details.toolName}${details.isError ? " (error)" : ""}`}>
          <Json value={details.output} />
        </Section>
      );
    case "LlmCallDetails":
      return (
        <Section title={`LLM: ${details.model ?? "unknown model"}`}>
          <p>
            {details.vendor ?? "unknown vendor"} · {formatCount(details.inputTokens)} in / {formatCount(details.outputTokens)}{" "}
            out{cachedInputTokens !== null && ` · ${formatCount(cachedInputTokens)} cached`} · {formatCost(details.cost)}
          </p>
          <h4>Prompt</h4>
          <Json value={details.prompt} />
          <h4>Completion</h4>
          <Json value={details.completion} />
        </Section>
      );
    case "NodeDetails":
      return (
        <Section title={`Node: ${details.node}`}>
          <h4>Input</h4>
          <Json value={details.input} />
          <h4>Output</h4>
          <Json value={details.output} />
        </Section>
      );
    case "ValidationDetails":
      return (
        <Section title={`Check: ${details.check} — ${details.passed ? "passed" : "failed"}`}>
          <Json value={details.details} />
        </Section>
      );
    case "PlanUpdateDetails":
      return (
        <Section title="Plan">
          <Json value={details.plan} />
        </Section>
      );
    case "InputDetails":
    case "OutputDetails":
      return (
        <Section title={details.__typename === "InputDetails" ? "Input" : "Output"}>
          <Json value={details.value} />
        </Section>
      );
    case "InfoDetails":
      return (
        <Section title="Info">
          <p>{details.message}</p>
          <Json value={details.data} />
        </Section>
      );
    case "ErrorDetails":
      // Shown above with the step's own error fields.
      return null;
  }
}

function Section({ title, children }: { title: string; children: ReactNode }) {
  return (
    <section className="typed-details">
      <h3>{title}</h3>
      {children}
    </section>
  );
}
