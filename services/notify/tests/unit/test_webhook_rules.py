"""Webhook event-type patterns and the retry backoff (URL checks: libs/meshkit/tests/unit/test_outbound_urls.py)."""

from bibliomesh_notify.domain.backoff import retry_pause
from bibliomesh_notify.domain.webhook_events import matches, pattern_problem


def test_event_type_patterns() -> None:
    assert pattern_problem("ill.request.shipped") is None and pattern_problem("ill.request.*") is None
    assert pattern_problem("ill.request.teleported") is not None
    assert matches(["ill.request.*"], "ill.request.shipped")
    assert not matches(["ill.request.*"], "ill.acquisition.suggested")
    assert matches(["*"], "ill.acquisition.suggested")


def test_backoff_grows_is_capped_and_jittered() -> None:
    pauses = [retry_pause(n, 1.0, 30.0).total_seconds() for n in range(1, 10)]
    assert 0.5 <= pauses[0] <= 1.0 and 4.0 <= pauses[3] <= 8.0
    assert all(p <= 30.0 for p in pauses) and pauses[-1] >= 15.0
    assert len({retry_pause(3, 1.0, 30.0) for _ in range(20)}) > 1
