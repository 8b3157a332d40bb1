"""Dagster definitions for the publish area (see docs/ARCHITECTURE.md)."""

import dagster as dg

defs = dg.Definitions()
