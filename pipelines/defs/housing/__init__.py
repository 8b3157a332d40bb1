"""Dagster definitions for the `housing` source system: bronze asset, checks, job, schedule."""

from pipelines.defs.ingestion.factory import source_defs

defs = source_defs("housing")
