"""The server: `api.app.create_app` (Starlette + GraphQL), `api.settings`, `api.cli`.

Import the submodules directly; this package re-exports nothing, so the CLI's
`import api.settings` does not pull in the whole GraphQL stack.
"""

__all__: list[str] = []
