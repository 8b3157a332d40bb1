"""Ingestion engine (no Dagster): landing deliveries → bronze / quarantine / issues / ledger."""

from pipelines.ingestion.engine import (
    DeliveryResult,
    FileResult,
    ingest_delivery,
    ingest_pending,
    ingest_source,
    ledger_entries,
    load_aliases,
    pending_deliveries,
    read_ledger,
)

__all__ = ["DeliveryResult", "FileResult", "ingest_delivery", "ingest_pending", "ingest_source",
           "ledger_entries", "load_aliases",
           "pending_deliveries", "read_ledger"]
