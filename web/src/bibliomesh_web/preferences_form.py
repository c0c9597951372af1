"""The notification settings forms, a person's own and their library's ILL mailbox's: which message kinds each
offers over which channels, as notify sends them (staff hear of their library's requests in the app, the
library's ILL mailbox by e-mail), and the form read strictly: a kind or channel the form does not offer is an
error, never dropped or sent. Whatever the form does not offer goes back to notify as notify has it, so saving
changes only what the page shows."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from starlette.datastructures import FormData

from bibliomesh_web.sessions import User

EMAIL, IN_APP = "email", "in_app"
CHANNELS = (EMAIL, IN_APP)
# The audience of a kind, by the first part of its name (notify's MESSAGE_KINDS; a test keeps the two in step).
AUDIENCES = {"patron": "patron", "lender": "lender_staff", "borrower": "borrower_staff",
             "admin": "institution_admins"}
STAFF_ROLES = frozenset({"staff", "institution-admin"})  # whom notify tells of their library's requests
ADMIN_ROLES = frozenset({"institution-admin"})
LIBRARY_REQUESTS = ("lender", "borrower")
SHOWN_LIMIT = 60


@dataclass(frozen=True)
class Group:
    """The message kinds of one audience (`patron`, `lender`, ...) and the channels the form offers for them."""

    name: str
    kinds: tuple[str, ...]
    channels: tuple[str, ...]


@dataclass
class Choices:
    """What the form asked for: the ticked channels of every kind it offers (none ticked: silenced), the digest,
    and what it cannot have sent (`kind=channel` as sent)."""

    channels: dict[str, list[str]]
    digest: bool = False
    not_offered: list[str] = field(default_factory=list)


def personal_groups(kinds: Iterable[str], user: User) -> list[Group]:
    """A person's own form: their requests on both channels; their library's requests in the app, for staff (by
    e-mail those go to the ILL mailbox); the administrators' messages on both, for institution admins. A kind of
    an audience this page does not know yet is offered to everyone, on both channels, so it can be silenced."""
    roles = set(user.roles)
    offered = {"patron": CHANNELS, "admin": CHANNELS if roles & ADMIN_ROLES else (),
               **dict.fromkeys(LIBRARY_REQUESTS, (IN_APP,) if roles & STAFF_ROLES else ())}
    return _grouped(kinds, lambda audience: offered.get(audience, CHANNELS))


def mailbox_groups(kinds: Iterable[str]) -> list[Group]:
    """A library's ILL-mailbox form: the library's requests, lending and borrowing, by e-mail."""
    return _grouped(kinds, lambda audience: (EMAIL,) if audience in LIBRARY_REQUESTS else ())


def _grouped(kinds: Iterable[str], channels_for: Callable[[str], tuple[str, ...]]) -> list[Group]:
    by_audience: dict[str, list[str]] = {}
    for kind in kinds:
        by_audience.setdefault(kind.split(".", 1)[0], []).append(kind)
    order = [*AUDIENCES, *sorted(by_audience.keys() - AUDIENCES.keys())]
    return [Group(name, tuple(by_audience[name]), channels_for(name)) for name in order
            if name in by_audience and channels_for(name)]


def read_choices(form: FormData, groups: list[Group]) -> Choices:
    """The form's choices: each checkbox is named by its kind and valued by its channel; `digest` is `on`."""
    offered = {kind: group.channels for group in groups for kind in group.kinds}
    read = Choices(channels={kind: [] for kind in offered})
    for name, value in form.multi_items():
        if name == "csrf":
            continue
        if name == "digest" and value == "on":
            read.digest = True
        elif isinstance(value, str) and value in offered.get(name, ()):
            if value not in read.channels[name]:
                read.channels[name].append(value)
        else:
            shown = f"{name}={value}" if isinstance(value, str) else name
            read.not_offered.append(shown if len(shown) <= SHOWN_LIMIT else shown[:SHOWN_LIMIT] + "…")
    return read


def body_to_save(current: dict[str, list[str]], groups: list[Group], chosen: Choices) -> dict[str, object]:
    """The `PUT .../preferences` body: the ticked channels of each kind on the form, and every channel the form
    does not offer as notify has it now (a kind left out of the body would get every channel again)."""
    offered = {kind: group.channels for group in groups for kind in group.kinds}
    channels: dict[str, list[str]] = {}
    for kind in current.keys() | chosen.channels.keys():
        kept = {c for c in current.get(kind, []) if c not in offered.get(kind, ())}
        channels[kind] = sorted(kept | set(chosen.channels.get(kind, [])))
    return {"channels": channels, "digest": chosen.digest}
