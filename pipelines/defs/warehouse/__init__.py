"""Dagster definitions for the warehouse area (see docs/ARCHITECTURE.md)."""

import dagster as dg

defs = dg.Definitions()
