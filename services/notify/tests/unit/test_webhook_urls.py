"""Webhook targets: https and public addresses only, unless private targets are allowed."""

import pytest

from bibliomesh_notify.domain.backoff import retry_pause
from bibliomesh_notify.domain.webhook_events import matches, pattern_problem
from bibliomesh_notify.domain.webhook_urls import resolved_problem, url_problem


@pytest.mark.parametrize("url", ["http://partner.example.org/hook", "https://127.0.0.1/hook",
                                 "https://10.1.2.3/hook", "https://169.254.169.254/latest/meta-data",
                                 "https://[::1]/hook", "https://[::ffff:192.168.0.1]/hook", "ftp://x.org/",
                                 "https://user:pw@partner.example.org/", "https:///nohost"])
def test_refused_in_distributed_mode(url: str) -> None:
    assert url_problem(url, allow_private=False) is not None


def test_allowed_targets() -> None:
    assert url_problem("https://partner.example.org/hooks/ill", allow_private=False) is None
    assert url_problem("https://93.184.215.14/hook", allow_private=False) is None
    assert url_problem("http://127.0.0.1:8080/hook", allow_private=True) is None


async def test_a_name_that_resolves_to_loopback_is_refused() -> None:
    problem = await resolved_problem("https://localhost/hook", allow_private=False)
    assert problem is not None and "non-public" in problem
    assert await resolved_problem("http://localhost/hook", allow_private=True) is None


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
