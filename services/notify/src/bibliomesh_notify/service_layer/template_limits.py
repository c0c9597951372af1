"""The limits an institution's own template renders within (its source is input from outside, and the consumer
renders one message at a time, so one slow or huge template would stall every institution's notifications).

Modelled on hosted template systems (Shopify's Liquid: render length and render score limits): a bounded source,
a bounded structure (checked on the parsed template), a bounded size for every value the template makes, a render
score (loop turns, calls, filters, operators), a bound on all it writes (captured or output), a per-field output
limit and a deadline in CPU time as the backstop. Breaking any of them raises `TemplateLimitError`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from jinja2 import TemplateError

MAX_SOURCE_CHARS = 20_000
MAX_LOOP_DEPTH = 2
MAX_RANGE = 1_000
MAX_VALUE_CHARS = 65_536
"""Any one value a template makes (`*`, `~`, a filter, a method): characters, counted through lists and dicts."""
MAX_VALUE_ITEMS = 10_000
MAX_INT_BITS = 4_096
MAX_FORMAT_WIDTH = 1_000
MAX_STEPS = 100_000
"""The render score: each turn of a loop costs the expressions and tags in its body, each call, filter and
operator one step, plus one per KiB (or thousand items) it handles."""
MAX_WRITTEN_CHARS = 262_144
"""Everything one message's template writes, output or captured (`{% set %}...{% endset %}`, `self.block()`)."""
MAX_SECONDS = 0.1
FIELD_CHARS = {"subject": 1_000, "text": 65_536, "html": 65_536, "title": 1_000, "body": 8_000}
"""The most each block may render: e-mail `subject`, `text`, `html`; in-app `title`, `body`."""


class TemplateLimitError(TemplateError):
    """The template breaks one of the limits; the message names it."""


@dataclass
class Budget:
    deadline: float
    """In the rendering thread's CPU time (`time.thread_time`), so a busy machine does not make a template that
    fits take too long: the limit is on the work, as the steps are."""
    steps: int = 0
    written: int = 0
    next_clock_check: int = 0

    def charge(self, steps: int, written: int) -> None:
        self.steps += steps
        self.written += written
        if self.steps > MAX_STEPS:
            raise TemplateLimitError(f"the template takes more than {MAX_STEPS:,} steps (loop turns, calls, "
                                     "filters and operators)")
        if self.written > MAX_WRITTEN_CHARS:
            raise TemplateLimitError(f"the template writes more than {MAX_WRITTEN_CHARS:,} characters")
        if self.steps >= self.next_clock_check:  # reading a thread's CPU clock is a system call: not every step
            self.next_clock_check = self.steps + 32
            if time.thread_time() > self.deadline:
                raise TemplateLimitError(f"the template takes longer than {MAX_SECONDS} s to render")


_budget: ContextVar[Budget | None] = ContextVar("notify_template_budget", default=None)


@contextmanager
def budgeted() -> Iterator[Budget]:
    """One message's render: the steps, writes and deadline of everything rendered inside count together."""
    budget = Budget(deadline=time.thread_time() + MAX_SECONDS)
    token = _budget.set(budget)
    try:
        yield budget
    finally:
        _budget.reset(token)


def charge(steps: int = 1, written: int = 0) -> None:
    budget = _budget.get()
    if budget is not None:
        budget.charge(steps, written)


def current_budget() -> Budget | None:
    return _budget.get()


def size_cost(value: Any) -> int:
    """Steps for handling `value`, beyond the first: one per KiB of text or thousand items."""
    return len(value) // 1024 if isinstance(value, str | list | tuple | dict) else 0


def weight(value: Any, limit: int = MAX_VALUE_CHARS, depth: int = 0) -> int:
    """About how many characters `value` takes as text, counted until past `limit` (so a list holding the same
    long string many times costs what printing it would, and counting it stays cheap)."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, bool) or value is None:
        return 5
    if isinstance(value, int):
        return value.bit_length() // 3 + 1
    if isinstance(value, dict):
        items: Any = (part for pair in value.items() for part in pair)
    elif isinstance(value, list | tuple | set | frozenset):
        items = value
    else:
        return 8
    if depth > 32:
        raise TemplateLimitError("the template nests values more than 32 deep")
    total = 2
    for item in items:
        total += weight(item, limit - total, depth + 1) + 2
        if total > limit:
            break
    return total


def check_value(value: Any, made_by: str) -> Any:
    """`value` if it is within the value limits, else TemplateLimitError naming what made it."""
    if isinstance(value, str) and len(value) > MAX_VALUE_CHARS:
        raise TemplateLimitError(f"{made_by} makes a text of {len(value):,} characters; the limit is "
                                 f"{MAX_VALUE_CHARS:,}")
    if isinstance(value, list | tuple | dict | set | frozenset) and len(value) > MAX_VALUE_ITEMS:
        raise TemplateLimitError(f"{made_by} makes {len(value):,} items; the limit is {MAX_VALUE_ITEMS:,}")
    return value


def check_weight(size: int, made_by: str) -> None:
    if size > MAX_VALUE_CHARS:
        raise TemplateLimitError(f"{made_by} would make a value of more than {MAX_VALUE_CHARS:,} characters")
