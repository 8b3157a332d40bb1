"""The ingestion assets in Dagster: the sensor adds partitions and requests runs in delivery
order; a rejection materialises and fails the non-blocking check; earlier pending deliveries
are applied (and recorded on their own partitions) before a later one."""

from __future__ import annotations

import dagster as dg

from delivery_builder import DeliveryBuilder, persons


def _repo():
    from pipelines.defs.ingestion import defs

    return defs.get_repository_def()


def test_sensor_requests_runs_in_delivery_order(onegrid_env):
    b = DeliveryBuilder(onegrid_env["landing"])
    b.household("20261101", persons(3))
    b.household("20261108", persons(2), kind="delta")
    b.incident("20261101T080000", [])
    repo = _repo()
    with dg.instance_for_test() as inst:
        res = repo.get_sensor_def("landing_sensor")(
            dg.build_sensor_context(instance=inst, repository_def=repo))
        reqs = [(r.job_name, r.partition_key) for r in res.run_requests]
        assert reqs == [("ingest_household", "20261101"), ("ingest_household", "20261108"),
                        ("ingest_incident", "20261101T080000")]
        adds = {a.partitions_def_name: a.partition_keys for a in res.dynamic_partitions_requests}
        assert adds == {"household_deliveries": ["20261101", "20261108"],
                        "incident_deliveries": ["20261101T080000"]}


def test_newest_partition_applies_earlier_ones_and_rejection_fails_check(onegrid_env):
    b = DeliveryBuilder(onegrid_env["landing"])
    b.household("20261101", persons(3))
    b.household("20261108", persons(2), kind="delta", rows={"persons.csv": 9})   # bad count
    b.household("20261115", persons(1, start=4), kind="delta")
    repo = _repo()
    with dg.instance_for_test() as inst:
        inst.add_dynamic_partitions("household_deliveries", ["20261101", "20261108", "20261115"])
        job = repo.get_job("ingest_household")
        out = job.execute_in_process(instance=inst, partition_key="20261115",
                                     raise_on_error=False)
        assert out.success   # a rejection does not fail the run
        evals = {(e.partition, e.check_name): (e.passed, e.description)
                 for e in out.get_asset_check_evaluations()}
        assert evals[("20261101", "delivery_accepted")][0] is True
        passed, desc = evals[("20261108", "delivery_accepted")]
        assert passed is False and "household/20261108" in desc and "persons.csv" in desc \
            and "manifest says 9" in desc
        assert evals[("20261115", "delivery_accepted")][0] is True
        assert all(p for (k, c), (p, _) in evals.items() if c == "rows_accounted")
        mats = out.get_asset_materialization_events()
        assert sorted(m.partition for m in mats) == ["20261101", "20261108", "20261115"]
        # running an older partition afterwards changes nothing
        again = job.execute_in_process(instance=inst, partition_key="20261101")
        assert again.success
