"""What a StatusRequestResponse tells an outside borrower for each state its request can rest in."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from broker_fixtures import RESTING_PAIRS

from bibliomesh_ill.domain.requests import IllRequest
from bibliomesh_ill.domain.states import RequesterState as R
from bibliomesh_ill.domain.states import SupplierState as S
from bibliomesh_ill.iso18626 import Status
from bibliomesh_ill.service_layer.peers.outbound import current_status

EXPECTED = {
    (R.SENT_TO_SUPPLIER, S.NEW): Status.EXPECT_TO_SUPPLY,
    (R.CONDITIONAL_ANSWER, S.CONDITIONAL): Status.RETRY_POSSIBLE,
    (R.CANCEL_PENDING, S.CANCEL_REQUESTED): Status.WILL_SUPPLY,
    (R.RECEIVED, S.SHIPPED): Status.LOANED,
    (R.SHIPPED, S.RECALLED): Status.RECALLED,
    (R.COMPLETED, S.COMPLETED): Status.LOAN_COMPLETED,
    (R.COMPLETED, S.COPY_DELIVERED): Status.COPY_COMPLETED,
    (R.CANCELLED, S.CANCELLED): Status.CANCELLED,
    (R.UNFILLED, None): Status.UNFILLED,
}


def resting(requester: R, supplier: S | None) -> IllRequest:
    now = datetime.now(UTC)
    return IllRequest(id="r1", borrower="ZZ-PEER", patron_id=None, created_by="iso18626:ZZ-PEER", origin="iso18626",
                      item_key="cluster:1", citation={}, title="t", service_type="loan", service_level="normal",
                      requester_state=requester, supplier_state=supplier, created_at=now, updated_at=now)


@pytest.mark.parametrize("pair", sorted(RESTING_PAIRS, key=str), ids=str)
def test_every_state_a_request_rests_in_has_a_status_other_than_request_received(pair: tuple[R, S | None]) -> None:
    status = current_status(resting(*pair))
    assert status is not Status.REQUEST_RECEIVED
    assert status is EXPECTED.get(pair, status)
