"""The demo agent on a background thread, for `tracewire serve --demo` and `tracewire demo`."""

import logging
import threading

from tracewire.storage import StoreConfig

__all__ = ["DEMO_API_KEY", "DEMO_ORG", "DEMO_PUBLIC_KEY", "DemoAgent"]

logger = logging.getLogger(__name__)

DEMO_ORG = "demo"
# The demo organization's key, published on purpose: `tracewire serve --demo` makes sure it
# exists, so that the README's example records into a demo server as it is written.
DEMO_PUBLIC_KEY = "pk-tw-demo"
DEMO_API_KEY = "sk-tw-demo"


class DemoAgent:
    """The demo agent (`tracewire.demo.agent.run_demo`) recording on a background thread
    until `stop()` or `max_runs`: into a server over HTTP (`url` http(s)://, with
    `api_key`), as an agent elsewhere would, or straight into a database (`url`
    postgresql://, into `org`, waking live viewers through `notify_url`, the server's)."""

    def __init__(
        self,
        url: str,
        *,
        api_key: str | None = None,
        org: str = DEMO_ORG,
        runs_per_second: float = 2.0,
        max_runs: int | None = None,
        store: StoreConfig | None = None,
        notify_url: str | None = None,
    ) -> None:
        self._url = url
        self._api_key = api_key
        self._org = org
        self._store = store
        self._notify_url = notify_url
        self._runs_per_second = runs_per_second
        self._max_runs = max_runs
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tracewire-demo", daemon=True)
        self.runs = 0
        self.failed = False

    def start(self) -> None:
        self._thread.start()

    def wait(self) -> None:
        self._thread.join()

    def stop(self, timeout: float = 10.0) -> int:
        """Stop recording; return how many runs were recorded."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        return self.runs

    def _run(self) -> None:
        # Imported here: the demo pulls in LangGraph, which `serve` without --demo never needs.
        from tracewire.demo.agent import run_demo

        try:
            self.runs = run_demo(
                self._url,
                api_key=self._api_key,
                org=self._org,
                runs_per_second=self._runs_per_second,
                stop=self._stop,
                max_runs=self._max_runs,
                store=self._store,
                notify_url=self._notify_url,
            )
        except Exception:
            self.failed = True
            logger.exception("the demo agent stopped")
