"""Dagster definitions for ingestion: one folder per source system (pipelines/defs/<source>),
merged here with the landing sensor. See docs/ARCHITECTURE.md and pipelines/ingestion."""

import dagster as dg

from pipelines.defs import grid, household, housing, incident, party
from pipelines.defs.ingestion.factory import build_job
from pipelines.defs.ingestion.sensor import build_sensor
from pipelines import config

_per_source = [grid.defs, household.defs, housing.defs, party.defs, incident.defs]

defs = dg.Definitions.merge(
    *_per_source,
    dg.Definitions(sensors=[build_sensor([build_job(s) for s in config.SOURCES])]),
)
