import { lazy, Suspense } from "react";
import { BrowserRouter, NavLink, Route, Routes } from "react-router-dom";

import { AuthGate } from "./auth/AuthGate";
import { useSession } from "./auth/SessionContext";
import { RunPage } from "./run/RunPage";
import { RunsPage } from "./runs/RunsPage";
import { LiveIndicator } from "./ui/LiveIndicator";

// The charting library is most of the bundle: only the stats page loads it.
const StatsPage = lazy(() => import("./stats/StatsPage").then((module) => ({ default: module.StatsPage })));

export function App() {
  return (
    <BrowserRouter>
      <AuthGate>
        <NavBar />
        <Routes>
          <Route path="/" element={<RunsPage />} />
          <Route path="/runs/:runId" element={<RunPage />} />
          <Route
            path="/stats"
            element={
              <Suspense fallback={<p className="centered muted">Loading…</p>}>
                <StatsPage />
              </Suspense>
            }
          />
          <Route path="*" element={<p className="centered">No such page.</p>} />
        </Routes>
      </AuthGate>
    </BrowserRouter>
  );
}

function NavBar() {
  const session = useSession();
  return (
    <nav className="nav">
      <strong className="brand">Tracewire</strong>
      <NavLink to="/" end>
        Runs
      </NavLink>
      <NavLink to="/stats">Stats</NavLink>
      <a href="/graphql" target="_blank" rel="noreferrer">
        GraphiQL
      </a>
      <span className="spacer" />
      <LiveIndicator ws={session.ws} />
      {session.signedIn && (
        <button type="button" onClick={() => void session.signOut()}>
          Sign out
        </button>
      )}
    </nav>
  );
}
