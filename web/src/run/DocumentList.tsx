import { formatCount } from "../ui/format";

export type DocumentView = { id: string | null; score: number | null; content: string | null };

/** What a retrieval step returned, in its order, with each document's id and score. */
export function DocumentList({ documents }: { documents: readonly DocumentView[] }) {
  if (documents.length === 0) return null;
  return (
    <section className="documents" aria-label="Retrieved documents">
      <h3>Documents ({formatCount(documents.length)})</h3>
      <ol>
        {documents.map((document, index) => (
          <li key={`${index}-${document.id ?? ""}`}>
            <span className="muted">
              {document.id ?? "no id"}
              {document.score !== null && ` · score ${document.score.toFixed(3)}`}
            </span>
            {document.content && <p className="document-content">{document.content}</p>}
          </li>
        ))}
      </ol>
    </section>
  );
}
