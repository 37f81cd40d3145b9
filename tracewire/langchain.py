"""LangChain and LangGraph: `TracewireCallbackHandler` records an invocation as a run.

Needs `pip install 'tracewire[langchain]'`.
"""

from tracewire.recorder.langchain import TracewireCallbackHandler

__all__ = ["TracewireCallbackHandler"]
