"""The model runner: a table built by another version of its model is refused with what to do."""

import duckdb
import pytest

from pipelines.core import warehouse as wh


def test_a_table_from_an_older_model_is_refused_naming_the_missing_columns(tmp_path):
    conn = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    # alarm_history as a release before vendor_alarm_id made it, with one row in it
    conn.execute("CREATE TABLE alarm_history (vendor VARCHAR, alarm_id VARCHAR, device_sn VARCHAR)")
    conn.execute("INSERT INTO alarm_history VALUES ('saj', 'a', 'b')")
    with pytest.raises(wh.WarehouseShapeError) as err:
        wh.run_sql_file(conn, "marts/alarm_history.sql", {"days": []})
    message = str(err.value)
    assert "alarm_history" in message and "vendor_alarm_id" in message and "re-materialise" in message
    assert conn.execute("SELECT count(*) FROM alarm_history").fetchone() == (1,)  # untouched


def test_a_table_of_the_current_model_is_accepted(tmp_path):
    conn = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    wh.prepare(conn)
    for _ in range(2):  # created, then found as it should be
        wh.check_shape(conn, "marts/plant_energy_hourly.sql")
        wh.execute_statements(conn, wh.sql_statements("marts/plant_energy_hourly.sql")[:1], {})
    assert [c for c, _ in wh._columns(conn, "plant_energy_hourly")][-3:] == ["samples", "expected_samples", "coverage"]
