"""OTLP/HTTP trace ingestion (and the Langfuse SDK's OTLP endpoint): spans become steps."""

from tracewire.api.otlp._ingest import OtlpIngest, run_id_for
from tracewire.api.otlp.routes import MAX_BODY_BYTES, otlp_routes

__all__ = ["MAX_BODY_BYTES", "OtlpIngest", "otlp_routes", "run_id_for"]
