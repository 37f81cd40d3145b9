import { useState } from "react";
import { useMutation } from "urql";

import type { RunHeaderFragment } from "../gql/graphql";
import { ApproveReviewMutation, RejectReviewMutation } from "./documents";

/** Approve (the run goes on running) or reject (it fails) a run waiting for review. */
export function ReviewActions(props: { runId: string; onChange(run: RunHeaderFragment): void }) {
  const [note, setNote] = useState("");
  const [approval, approve] = useMutation(ApproveReviewMutation);
  const [rejection, reject] = useMutation(RejectReviewMutation);
  const busy = approval.fetching || rejection.fetching;
  const error = approval.error ?? rejection.error;

  const variables = { id: props.runId, note: note.trim() || null };
  return (
    <section className="review" aria-label="Review">
      <strong>This run waits for review.</strong>
      <input placeholder="Note (optional)" value={note} onChange={(event) => setNote(event.target.value)} />
      <button
        type="button"
        className="approve"
        disabled={busy}
        onClick={() =>
          void approve(variables).then((result) => result.data && props.onChange(result.data.approveReview))
        }
      >
        Approve
      </button>
      <button
        type="button"
        className="reject"
        disabled={busy}
        onClick={() =>
          void reject(variables).then((result) => result.data && props.onChange(result.data.rejectReview))
        }
      >
        Reject
      </button>
      {error && <p className="error" role="alert">{error.message}</p>}
    </section>
  );
}
