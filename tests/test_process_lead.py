"""One process leads a job for the workers sharing a data directory (index saves, alerts)."""

from __future__ import annotations

from pathlib import Path

from matchmaker.process_lead import ProcessLead


def test_one_leads_until_it_lets_go(tmp_path: Path) -> None:
    first, second = ProcessLead(tmp_path / "job.lock"), ProcessLead(tmp_path / "job.lock")
    assert first.take() and first.take()  # taking again keeps the lead
    assert not second.take()
    first.release()
    assert second.take() and not first.take()
    second.release()
