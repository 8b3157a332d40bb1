"""Dagster definitions for the quality area (see docs/ARCHITECTURE.md)."""

import dagster as dg

defs = dg.Definitions()
