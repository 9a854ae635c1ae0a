"""Settings derived from another follow it unless set themselves."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.settings import load_settings


def test_the_default_lake_lives_in_the_local_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RIDESHARE_LAKE_URI", raising=False)
    monkeypatch.setenv("RIDESHARE_LOCAL_DIR", str(tmp_path / "second-stack"))
    assert load_settings().lake_uri == str(tmp_path / "second-stack" / "lake")  # a second stack: its own lake
    assert load_settings(local_dir=tmp_path / "third").lake_uri == str(tmp_path / "third" / "lake")
    assert load_settings(lake_uri="s3://bucket/lake").lake_uri == "s3://bucket/lake"  # set explicitly: kept
