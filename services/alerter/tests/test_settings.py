"""The alerter's delivery durations: Prometheus' syntax, ISO 8601 or seconds."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from vigil_alerter.settings import AlerterSettings


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2s", timedelta(seconds=2)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("PT2S", timedelta(seconds=2)),
        ("90", timedelta(seconds=90)),
    ],
)
def test_delivery_durations_in_any_usual_spelling(
    monkeypatch: pytest.MonkeyPatch, text: str, expected: timedelta
) -> None:
    monkeypatch.setenv("VIGIL_DELIVERY_LEASE", text)
    assert AlerterSettings().delivery_lease == expected


def test_a_bad_duration_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_DELIVERY_BACKOFF_CAP", "soon")
    with pytest.raises(ValidationError, match="delivery_backoff_cap"):
        AlerterSettings()
