"""A fleet of any mix of vendors: the configured ones land, the others are skipped and say so, and a run with
no vendor configured at all fails at once naming the variables. A stand-in second vendor ("acme") plays the
vendor that is not configured."""

from datetime import date

import dagster as dg
import duckdb

from pipelines.core.landing import raw_check_spec, skip_reason, skipped
from pipelines.core.partitions import daily_partitions
from pipelines.core.resources import LakeResource, VendorsResource
from tests.support import ALL_ASSETS, resources, select

DAY = date(2025, 9, 1)
ACME = dg.AssetKey(["acme", "raw_things"])


@dg.asset(
    key=ACME,
    partitions_def=daily_partitions,
    check_specs=[raw_check_spec(ACME)],
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def acme_raw(context: dg.AssetExecutionContext, vendors: VendorsResource, lake: LakeResource):
    reason = skip_reason(context, vendors, "acme")
    if reason is not None:
        return skipped(reason)
    raise AssertionError("acme is never configured in these tests")


def _run(server, tmp_path, configured: list[str]):
    res = resources(server, tmp_path)
    res["vendors"] = VendorsResource(
        configured=configured, variables={"saj": ["SAJ_APP_ID", "SAJ_APP_SECRET"], "acme": ["ACME_TOKEN"]}
    )
    return dg.materialize(
        [*ALL_ASSETS, acme_raw],
        selection=select({"saj/raw_plants", "saj/raw_devices", "saj/raw_upload_data", "acme/raw_things"}),
        partition_key=DAY.isoformat(),
        resources=res,
        raise_on_error=False,
    )


def test_an_unconfigured_vendor_is_skipped_with_a_message_and_the_others_land(make_simulator, tmp_path):
    server = make_simulator(plants=2, limits=False)
    result = _run(server, tmp_path, configured=["saj"])
    assert result.success
    (acme,) = result.asset_materializations_for_node("acme__raw_things")
    assert "ACME_TOKEN" in acme.metadata["skipped"].value and acme.metadata["dagster/row_count"].value == 0
    (check,) = [e for e in result.get_asset_check_evaluations() if e.asset_key == ACME]
    assert check.passed and "not configured" in check.description
    (upload,) = [
        m for m in result.asset_materializations_for_node("saj_raw") if m.asset_key.path[-1] == "raw_upload_data"
    ]
    assert upload.metadata["dagster/row_count"].value == 2 * len(server.fleet.devices)


def test_no_vendor_configured_fails_at_once_naming_every_variable(make_simulator, tmp_path):
    server = make_simulator(plants=2, limits=False)
    result = _run(server, tmp_path, configured=[])
    assert not result.success
    failures = [str(e.event_specific_data.error) for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert failures and all("No vendor is configured" in f for f in failures)
    assert "acme: ACME_TOKEN" in failures[0] and "saj: SAJ_APP_ID and SAJ_APP_SECRET" in failures[0]
    assert server.stats()["requests"] == {}  # nothing was asked of any API


def test_every_public_table_has_a_vendor(make_simulator, tmp_path):
    server = make_simulator(plants=2, limits=False)
    assert dg.materialize(ALL_ASSETS, partition_key=DAY.isoformat(), resources=resources(server, tmp_path)).success
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as conn:
        tables = [t for (t,) in conn.execute("SELECT table_name FROM information_schema.tables").fetchall()]
        assert len(tables) == 10
        for table in tables:
            vendors = conn.execute(f"SELECT DISTINCT vendor FROM {table}").fetchall()
            assert vendors == [("saj",)], table
