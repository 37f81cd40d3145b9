import { createGraphiQLFetcher } from "@graphiql/toolkit";
import { GraphiQL } from "graphiql";
import "graphiql/setup-workers/vite";
import "graphiql/style.css";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";

import { storedKey } from "../auth/session";

// GraphiQL bundled with the UI (no CDN): it works offline. The web UI's key, if this tab
// signed in, is sent along; without one, add an Authorization header in the Headers tab.
const key = storedKey();
const origin = window.location.origin;
const fetcher = createGraphiQLFetcher({
  url: `${origin}/graphql`,
  subscriptionUrl: `${origin.replace(/^http/, "ws")}/graphql`,
  headers: key ? { Authorization: `Bearer ${key}` } : {},
  wsConnectionParams: key ? { Authorization: `Bearer ${key}` } : {},
});

const FIRST_QUERY = `# The docs pane (top left) describes every type and field.
{
  runs(first: 5) {
    totalCount
    nodes {
      id
      agent
      status
      errorSummary
      failedNodes
    }
  }
}
`;

createRoot(document.getElementById("graphiql")!).render(
  <StrictMode>
    <GraphiQL fetcher={fetcher} defaultQuery={FIRST_QUERY} defaultEditorToolsVisibility="headers" />
  </StrictMode>,
);
