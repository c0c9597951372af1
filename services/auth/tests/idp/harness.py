"""The test identity provider (`server.mjs`, the certified oidc-provider package) as a subprocess on loopback,
and a tiny browser that walks its HTML forms: what a person does at their university's sign-in page."""

from __future__ import annotations

import select
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

import httpx

from meshkit.testing import free_port

IDP_DIR = Path(__file__).parent
CLIENT_ID = "bibliomesh"
CLIENT_SECRET = "test-idp-client-secret"
ACCOUNTS = ("alice", "bob", "carol")  # a student, a staff member, an affiliate (see server.mjs)


@dataclass(frozen=True)
class LoopbackIdp:
    issuer: str
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET


def ensure_installed() -> None:
    """`make setup` installs the IdP's packages; this covers a plain `pytest` in a fresh clone."""
    if not (IDP_DIR / "node_modules" / "oidc-provider").is_dir():
        npm = shutil.which("npm")
        assert npm is not None, "node and npm are needed for the federated sign-in tests"
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=IDP_DIR, check=True,
                       stdout=subprocess.DEVNULL)


@contextmanager
def running_idp(redirect_uri: str, *, ready_within: float = 30.0) -> Iterator[LoopbackIdp]:
    """Start `server.mjs` on a free port, wait for its READY line, stop it afterwards."""
    ensure_installed()
    node = shutil.which("node")
    assert node is not None, "node is needed for the federated sign-in tests"
    port = free_port()
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen([node, "server.mjs", str(port), redirect_uri], cwd=IDP_DIR,
                                   stdout=subprocess.PIPE, stderr=log)
        try:
            issuer = _wait_until_ready(process, ready_within)
            if issuer is None:
                log.seek(0)
                raise AssertionError(f"the test IdP did not start: {log.read().decode(errors='replace')}")
            yield LoopbackIdp(issuer=issuer)
        finally:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()


def _wait_until_ready(process: subprocess.Popen[bytes], within: float) -> str | None:
    """The issuer from the READY line; None if the process died or stayed silent."""
    assert process.stdout is not None
    deadline = time.monotonic() + within
    while (remaining := deadline - time.monotonic()) > 0:
        readable, _, _ = select.select([process.stdout], [], [], remaining)
        if not readable:
            break
        line = process.stdout.readline().decode().strip()
        if line.startswith("READY "):
            return line.split(" ", 1)[1]
        if not line and process.poll() is not None:
            break
    return None


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append(Form(action=attributes.get("action", ""),
                                   method=attributes.get("method", "get").lower()))
        elif tag == "input" and self.forms and attributes.get("name") and attributes.get("type") != "submit":
            self.forms[-1].fields.setdefault(attributes["name"], attributes.get("value", ""))


def forms_in(html: str) -> list[Form]:
    """The forms of a page with their named fields and default values, as a browser would submit them."""
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


async def sign_in_at_idp(browser: httpx.AsyncClient, start: str, account: str, back_to: str,
                         max_steps: int = 12) -> str:
    """Follow the IdP's redirects and fill its forms (login with `account`, then consent) until it sends the
    browser to a URL starting with `back_to`; return that URL."""
    url, response = start, await browser.get(start)
    for _step in range(max_steps):
        if response.is_redirect:
            url = urljoin(url, response.headers["location"])
            if url.startswith(back_to):
                return url
            response = await browser.get(url)
            continue
        assert response.status_code == 200, f"{url}: {response.status_code} {response.text[:500]}"
        forms = forms_in(response.text)
        assert forms, f"{url} shows no form: {response.text[:500]}"
        form = forms[0]
        if "login" in form.fields:
            form.fields.update(login=account, password="whatever-the-idp-accepts")
        url = urljoin(url, form.action)
        response = await browser.post(url, data=form.fields)
    raise AssertionError(f"the IdP never sent the browser back to {back_to}")
