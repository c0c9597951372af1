"""Which ids an API client may have, without I/O."""

import pytest

from bibliomesh_auth.domain.client_ids import client_id_problem, institution_prefix, look_alike_key, owner_of

CODES = ["CN-DL-U1", "CN-DL-U1-ENG", "CN-DL-U2", "CN-DL-A:B", "PLATFORM"]


def test_the_prefix_is_the_code_in_lower_case() -> None:
    assert institution_prefix("CN-DL-LHU") == "cn-dl-lhu-"
    assert institution_prefix("CN-DL-A:B") == "cn-dl-a-b-"


@pytest.mark.parametrize(("client_id", "owner"), [
    ("cn-dl-u1-koha", "CN-DL-U1"), ("cn-dl-u1-eng-koha", "CN-DL-U1-ENG"), ("cn-dl-u1-engine", "CN-DL-U1"),
    ("cn.d1.u2_koha", "CN-DL-U2"), ("cn-dl-a-b-sync", "CN-DL-A:B"), ("platform-admin", "PLATFORM"),
    ("bibliomesh-web", None), ("cn-dl-u10-koha", None)])
def test_an_id_looks_like_a_client_of_the_institution_with_the_longest_matching_code(client_id: str,
                                                                                       owner: str | None) -> None:
    assert owner_of(client_id, CODES) == owner


def test_look_alikes_share_a_key() -> None:
    keys = {look_alike_key(i) for i in ("bibliomesh-cli", "BIBLIOMESH_CLI", "bib1iomesh.c1i", "bibliomeshcli")}
    assert len(keys) == 1
    assert look_alike_key("modern") == look_alike_key("rnodern")
    assert look_alike_key("koha") != look_alike_key("koa")


@pytest.mark.parametrize(("client_id", "by_platform_admin", "institution", "refused"), [
    ("cn-dl-u1-koha", False, "CN-DL-U1", False), ("koha", False, "CN-DL-U1", True),
    ("cn-dl-u2-koha", False, "CN-DL-U1", True), ("cn-dl-u1-eng-koha", False, "CN-DL-U1", True),
    ("discovery", True, "CN-DL-U1", False), ("cn-dl-u2-koha", True, "CN-DL-U1", True),
    ("ops-robot", True, "PLATFORM", False), ("cn-dl-u1-robot", True, "PLATFORM", True),
    ("Ops-Robot", True, "PLATFORM", True), ("ops robot", True, "PLATFORM", True), ("op", True, "PLATFORM", True)])
def test_client_id_rule(client_id: str, by_platform_admin: bool, institution: str, refused: bool) -> None:
    problem = client_id_problem(client_id, institution=institution, institutions=CODES,
                                chosen_by_platform_admin=by_platform_admin)
    assert (problem is not None) == refused, problem
