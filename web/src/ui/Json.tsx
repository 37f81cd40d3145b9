/** A JSON value, pretty-printed; strings show as text (a prompt reads better unquoted). */
export function Json({ value }: { value: unknown }) {
  if (value === null || value === undefined) return <span className="muted">–</span>;
  const text = typeof value === "string" ? value : JSON.stringify(value, null, 2);
  return <pre className="json">{text}</pre>;
}
