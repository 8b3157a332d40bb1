"""The landing sensor: notices new deliveries, adds their partitions, requests runs in order."""

from __future__ import annotations

import dagster as dg

from pipelines import config
from pipelines.defs.ingestion.factory import job_name, run_requests


def build_sensor(jobs) -> dg.SensorDefinition:
    @dg.sensor(name="landing_sensor", jobs=jobs, minimum_interval_seconds=60,
               default_status=dg.DefaultSensorStatus.RUNNING,
               description="Scans the landing root; each new or changed delivery becomes a "
                           "partition of its source's bronze asset and a run, in delivery order.")
    def landing_sensor(context: dg.SensorEvaluationContext):
        adds, reqs = [], []
        for source in config.SOURCES:
            pdef_name = f"{source}_deliveries"
            known = set(context.instance.get_dynamic_partitions(pdef_name))
            new_keys, r = run_requests(source, known)
            if new_keys:
                adds.append(dg.AddDynamicPartitionsRequest(pdef_name, new_keys))
            reqs += r
        if not reqs and not adds:
            return dg.SensorResult(skip_reason="no new deliveries")
        return dg.SensorResult(run_requests=reqs, dynamic_partitions_requests=adds)

    return landing_sensor


__all__ = ["build_sensor", "job_name"]
