import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

// The build goes into the server's package (api/web_dist, package data of `tracewire.api`),
// so the wheel carries it; `npm run dev` proxies the API to a local server instead.
const api = process.env.TRACEWIRE_URL ?? "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "../api/web_dist",
    emptyOutDir: true,
    // GraphiQL's editor (Monaco) is large; it loads only on /graphql, never with the UI.
    chunkSizeWarningLimit: 4000,
    rollupOptions: { input: { main: "index.html", graphiql: "graphiql.html" } },
  },
  server: {
    proxy: {
      "/graphql": { target: api, ws: true },
      "/auth": api,
      "/artifacts": api,
    },
  },
  test: { environment: "node", include: ["src/**/*.test.ts"] },
});
