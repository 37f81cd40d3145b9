/** The key of this browser tab's session. sessionStorage: it survives reloads but not the
 * tab, and never reaches another tab or the server's logs. */
const STORAGE_KEY = "tracewire.key";

export function storedKey(): string | null {
  return sessionStorage.getItem(STORAGE_KEY);
}

export function storeKey(key: string): void {
  sessionStorage.setItem(STORAGE_KEY, key);
}

export function forgetKey(): void {
  sessionStorage.removeItem(STORAGE_KEY);
}

export class SignInError extends Error {}

/** Whether the server answers this key (or, for null, anonymous requests). */
export async function checkKey(key: string | null): Promise<boolean> {
  const response = await fetch("/graphql", {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      ...(key ? { Authorization: `Bearer ${key}` } : {}),
    },
    body: JSON.stringify({ query: "{ __typename }" }),
  });
  if (response.status === 401) return false;
  if (!response.ok) throw new SignInError(`the server answered ${response.status}`);
  return true;
}

/** Trade the one-time token of a login link (`/?login=...`) for a key. */
export async function redeemLoginToken(token: string): Promise<string> {
  const response = await fetch("/auth/login", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ token }),
  });
  const body = (await response.json().catch(() => ({}))) as { key?: string; error?: string };
  if (!response.ok || !body.key) {
    throw new SignInError(body.error ?? "this login link is invalid, used or expired");
  }
  return body.key;
}

/** Tell the server the session ended: a key a login link issued is revoked, a key typed in
 * by hand is only forgotten here. */
export async function endSession(key: string): Promise<void> {
  await fetch("/auth/logout", {
    method: "POST",
    headers: { Authorization: `Bearer ${key}` },
  }).catch(() => undefined);
}
