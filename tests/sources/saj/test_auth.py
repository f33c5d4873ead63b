"""clientSign against the guide's vectors (saj-upload-data-guide.md in the shared API documents)."""

import pytest

from pipelines.sources.saj.auth import parse_token_data, sign

VECTORS = [
    ("VH_ExampleApp", "M2S4182G2349E02268", "54f0f2d6e083554eae2f5782ad3bece0a054d44c400bcbb853490c49c8058c24"),
    ("VH_ExampleApp", "R5X2602J2516E27344", "e27abb3873658ed95fe1bffad6e286ae086c8a5c351567efabe4c2f6e7bb1ce4"),
]


@pytest.mark.parametrize("app_id,sn,expected", VECTORS)
def test_sign_vectors(app_id, sn, expected):
    assert sign(app_id, sn) == expected


def test_sign_is_case_sensitive_and_exact():
    assert sign("VH_ExampleApp", "m2s4182g2349e02268") != VECTORS[0][2]
    assert sign("VH_ExampleApp ", "M2S4182G2349E02268") != VECTORS[0][2]


def test_token_answer_is_read_with_defaults():
    assert parse_token_data({"access_token": "abcd", "expires": "3600"}) == ("abcd", 3600.0)
    assert parse_token_data({"access_token": "abcd"}) == ("abcd", 7200)
    assert parse_token_data({"access_token": "abcd", "expires": -5}) == ("abcd", 7200)
    assert parse_token_data({"access_token": ""}) is None and parse_token_data(None) is None
