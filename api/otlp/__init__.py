"""OTLP trace ingestion over HTTP (and the Langfuse SDK's OTLP endpoint) and gRPC: spans
become steps, through the server's ingest service."""

from tracewire.api.otlp.routes import MAX_BODY_BYTES, otlp_routes
from tracewire.db.otel_ids import run_id_for

__all__ = ["MAX_BODY_BYTES", "otlp_routes", "run_id_for"]
