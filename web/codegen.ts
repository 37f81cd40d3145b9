import type { CodegenConfig } from "@graphql-codegen/cli";

// Typed documents from the committed SDL: every `graphql(...)` call in src/ gets the exact
// result and variables types of its operation. `npm run codegen:check` fails when the
// generated files are stale.
const config: CodegenConfig = {
  schema: "../schema/schema.graphql",
  documents: ["src/**/*.{ts,tsx}", "!src/gql/**/*"],
  ignoreNoDocuments: false,
  generates: {
    "src/gql/": {
      preset: "client",
      presetConfig: { fragmentMasking: false },
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: { DateTime: "string", JSON: "unknown" },
        strictScalars: true,
      },
    },
  },
};

export default config;
