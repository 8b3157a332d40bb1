"""Dagster definitions for the ingestion area (see docs/ARCHITECTURE.md)."""

import dagster as dg

defs = dg.Definitions()
