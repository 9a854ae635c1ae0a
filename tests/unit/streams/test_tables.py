"""Changelog tables defer Faust's source/changelog partition check while the changelog's partitions are unknown."""

from __future__ import annotations

from pathlib import Path

import pytest
from faust.exceptions import PartitionsMismatch

from core.settings import load_settings
from streams.app import create_app
from streams.tables import ChangelogTable, state_table


def test_a_changelog_not_known_yet_defers_the_check_and_a_real_mismatch_still_fails(tmp_path: Path,
                                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    app = create_app(load_settings(local_dir=tmp_path), web_port=16998)
    table = state_table(app, "positions", partitions=12, help="test")
    assert isinstance(table, ChangelogTable)
    known = {"source": 12, table.changelog_topic_name: 0}  # a changelog created a moment ago: snapshot says 0
    monkeypatch.setattr(app.consumer, "topic_partitions", lambda topic: known.get(topic))
    table._verify_source_topic_partitions("source")  # Faust's own table raised PartitionsMismatch here
    assert "source" not in table._verified_source_topics_for_partitions  # checked again at the next write
    known[table.changelog_topic_name] = 6  # a real mismatch is still an error
    with pytest.raises(PartitionsMismatch):
        table._verify_source_topic_partitions("source")
    known[table.changelog_topic_name] = 12
    table._verify_source_topic_partitions("source")
    assert "source" in table._verified_source_topics_for_partitions
