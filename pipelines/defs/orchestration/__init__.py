"""Jobs that tie the areas together: one ingestion job per source system and the nightly
warehouse build (dbt models, quality checks, publish) that follows it."""

import dagster as dg

# Everything downstream of bronze: staging → intermediate → marts → checks → publish.
warehouse_selection = dg.AssetSelection.all() - dg.AssetSelection.key_prefixes("bronze")

build_and_publish_job = dg.define_asset_job(
    name="build_and_publish",
    selection=warehouse_selection,
    description="Build the warehouse from every source's accepted deliveries, run the "
    "quality checks and publish a snapshot when the blocking checks pass.",
)

defs = dg.Definitions(jobs=[build_and_publish_job])
