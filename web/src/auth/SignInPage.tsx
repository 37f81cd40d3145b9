import { useState, type FormEvent } from "react";

export function SignInPage(props: { error: string | null; onSignIn(key: string): Promise<void> }) {
  const [key, setKey] = useState("");
  const [error, setError] = useState(props.error);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await props.onSignIn(key.trim());
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure));
      setBusy(false);
    }
  };

  return (
    <main className="sign-in">
      <h1>Tracewire</h1>
      <form onSubmit={(event) => void submit(event)}>
        <label htmlFor="api-key">Secret API key</label>
        <input
          id="api-key"
          type="password"
          autoComplete="off"
          placeholder="sk-tw-…"
          value={key}
          onChange={(event) => setKey(event.target.value)}
        />
        <button type="submit" disabled={busy || key.trim() === ""}>
          Sign in
        </button>
        {error && <p className="error" role="alert">{error}</p>}
      </form>
      <p className="muted">
        Create a key with <code>tracewire keys create --org ORG</code>, or open the login link
        that <code>tracewire serve --login-org ORG</code> prints at start. The key is kept for
        this tab only.
      </p>
    </main>
  );
}
