"""Dagster definitions for the `party` source system: bronze asset, checks, job, schedule."""

from pipelines.defs.ingestion.factory import source_defs

defs = source_defs("party")
