"""The sites file (SOLAX_SITES_FILE): what a user keeps is read as they wrote it, and a bad file is refused at load,
naming each line and what is wrong with it, before anything is polled."""

from __future__ import annotations

import pytest

from pipelines.sources.solax.sites import SitesFileError, load_sites, parse_sites

HEADER = "wifi_sn,plant_id,plant_name,time_zone,system_power_kwp\n"


def _refused(text: str) -> str:
    with pytest.raises(SitesFileError) as info:
        parse_sites(text, "/srv/sites.csv")
    return str(info.value)


def test_the_stand_ins_sites_file_reads_as_published(make_solax):
    server = make_solax()
    sites = parse_sites(server.sites_csv())
    assert [s.wifi_sn for s in sites] == [d.wifi_sn for d in server.dongles]
    by_sn = {d.wifi_sn: d for d in server.dongles}
    for site in sites:
        plant = by_sn[site.wifi_sn].plant
        assert (site.plant_id, site.time_zone, site.system_power_kwp) == (
            plant.plant_id,
            plant.time_zone,
            plant.system_power_kwp,
        )
    assert sites.text == server.sites_csv()  # kept verbatim: it is landed with every round


def test_what_a_spreadsheet_writes_is_read(tmp_path):
    path = tmp_path / "sites.csv"
    text = (
        "\ufeffWIFI_SN, Plant_ID ,plant_name,time_zone,system_power_kwp,notes\r\n"
        '# the roof in Lyon\r\nSWAB12CD34,lyon-1,"Dupont, Lyon",Europe/Paris,6.4,south roof\r\n'
        "SWAB12CD35,lyon-1,,Europe/Paris,,\r\n\r\n"
    )
    path.write_bytes(text.encode())
    sites = load_sites(str(path))
    assert [(s.wifi_sn, s.plant_id, s.plant_name, s.system_power_kwp, s.line) for s in sites] == [
        ("SWAB12CD34", "lyon-1", "Dupont, Lyon", 6.4, 3),
        ("SWAB12CD35", "lyon-1", None, None, 4),
    ]


@pytest.mark.parametrize(
    "body, expected",
    [
        ("SWAB12CD34,p1,Home,Europe/Berln,5\n", "line 2: time zone 'Europe/Berln' is not an IANA time zone"),
        ("SWAB12CD34,p1,Home,,5\n", "line 2: time zone '(empty)' is not an IANA time zone"),
        (
            "SWAB12CD34,p1,Home,Europe/Berlin,5\nSWAB12CD34,p2,Other,Europe/Berlin,3\n",
            "line 3: wifi_sn SWAB12CD34 is already on line 2 (one row per registration number)",
        ),
        ("SWAB/../x,p1,Home,Europe/Berlin,5\n", "line 2: wifi_sn 'SWAB/../x' is not a plain identifier"),
        ("SWAB12CD34,p1';DROP TABLE plants;--,Home,Europe/Berlin,5\n", "line 2: plant_id"),
        ("SWAB12CD34,p1,Home,Europe/Berlin,five\n", "line 2: system_power_kwp 'five' is not a positive number"),
        ("SWAB12CD34,p1,Home,Europe/Berlin,-3\n", "line 2: system_power_kwp '-3' is not a positive number"),
        (
            "SWAB12CD34,p1,Home,Europe/Berlin,5\nSWAB12CD35,p1,Home,Europe/Paris,5\n",
            "line 3: plant p1 has time zone 'Europe/Paris' here but 'Europe/Berlin' on line 2",
        ),
        ("SWAB12CD34,p1,Home,Europe/Berlin,5,extra\n", "line 2: 6 fields for 5 columns"),
    ],
)
def test_a_bad_row_is_refused_with_its_line_and_the_reason(body, expected):
    message = _refused(HEADER + body)
    assert expected in message and "SOLAX_SITES_FILE=/srv/sites.csv" in message and "nothing polled" in message


def test_every_problem_is_named_at_once():
    message = _refused(HEADER + "SWAB12CD34,p1,Home,Mars/Olympus,5\nbad id!,p1,Home,Europe/Berlin,5\n")
    assert "2 problem(s)" in message and "line 2: time zone 'Mars/Olympus'" in message and "line 3: wifi_sn" in message


def test_a_missing_column_is_refused_naming_it():
    message = _refused("wifi_sn,plant_id,plant_name,system_power_kwp\nSWAB12CD34,p1,Home,5\n")
    assert "line 1: the header lacks time_zone" in message


def test_no_file_an_empty_file_and_no_rows(tmp_path):
    with pytest.raises(SitesFileError, match="SOLAX_SITES_FILE is not set"):
        load_sites(None)
    with pytest.raises(SitesFileError, match="cannot be read"):
        load_sites(str(tmp_path / "missing.csv"))
    assert "empty" in _refused("\n\n")
    assert "no dongle listed" in _refused(HEADER)
    (tmp_path / "latin1.csv").write_bytes(HEADER.encode() + "SWAB12CD34,p1,Müller,Europe/Berlin,5\n".encode("latin-1"))
    with pytest.raises(SitesFileError, match="not UTF-8"):
        load_sites(str(tmp_path / "latin1.csv"))
