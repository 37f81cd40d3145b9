"""Server-side ingestion: the one service every protocol writes through (the native
endpoint, OTLP over HTTP and gRPC, the Langfuse endpoints), and the native endpoint."""
