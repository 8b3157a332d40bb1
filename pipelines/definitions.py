"""The one root of onegrid's Dagster code location (``workspace.yaml`` loads it).

Each area keeps its own ``defs`` (ingestion per source system, the dbt warehouse, quality
checks, publishing); this module only merges them. Nothing here does I/O at load time.
"""

import dagster as dg

from pipelines.defs import ingestion, orchestration, publish, quality, warehouse

defs = dg.Definitions.merge(
    ingestion.defs,
    warehouse.defs,
    quality.defs,
    publish.defs,
    orchestration.defs,
)
