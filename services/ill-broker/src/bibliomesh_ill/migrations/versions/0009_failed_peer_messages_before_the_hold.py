"""failed peer messages from before the hold

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 08:00:00.000000

Before a failed ISO 18626 message held back the later messages of its request to its peer (`PeerOutbox.due`), a
failed message was skipped: the later ones went out after it, and the request's trail said nothing. Left failed,
such a message would now hold back every new message about its request (a patron's Cancel), with nobody told.
One with a later message to the same peer was passed by it under the old rule: it is dropped. One without stays
failed (staff may still redeliver or drop it) and gets the `peer_message_failed` step the delivery worker writes
today, so the trail says what the request's next message to that peer waits for.
"""
from datetime import UTC, datetime
from typing import Any

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

# Frozen copies of the columns used, so later changes to the tables do not change what this migration did.
_messages = sa.table(
    'peer_messages', sa.column('id', sa.Integer), sa.column('request_id', sa.String), sa.column('step', sa.String),
    sa.column('peer', sa.String), sa.column('kind', sa.String), sa.column('status', sa.String),
    sa.column('attempts', sa.Integer), sa.column('claimed_until', sa.DateTime(timezone=True)))
_requests = sa.table(
    'requests', sa.column('id', sa.String), sa.column('lender', sa.String), sa.column('requester_state', sa.String),
    sa.column('supplier_state', sa.String))
_steps = sa.table(
    'request_steps', sa.column('id', sa.Integer), sa.column('request_id', sa.String), sa.column('step', sa.String),
    sa.column('action', sa.String), sa.column('actor', sa.String), sa.column('actor_institution', sa.String),
    sa.column('party', sa.String), sa.column('lender', sa.String), sa.column('requester_state', sa.String),
    sa.column('supplier_state', sa.String), sa.column('reason', sa.Text), sa.column('note', sa.Text),
    sa.column('details', sa.JSON), sa.column('occurred_at', sa.DateTime(timezone=True)))
_MARK = {'migration': revision}  # in the details of the steps written here, so that the downgrade finds them
_NOTED = ('peer_message_failed', 'peer_message_dropped')


def upgrade() -> None:
    bind = op.get_bind()
    now = datetime.now(UTC)
    later = _messages.alias('later')
    passed = sa.exists().where(later.c.request_id == _messages.c.request_id, later.c.peer == _messages.c.peer,
                               later.c.id > _messages.c.id)
    failed = bind.execute(
        sa.select(_messages, passed.label('passed'), _requests.c.lender, _requests.c.requester_state,
                  _requests.c.supplier_state)
        .select_from(_messages.outerjoin(_requests, _requests.c.id == _messages.c.request_id))
        .where(_messages.c.status == 'failed').order_by(_messages.c.id)).mappings().all()
    told = _failures_in_trail(bind)
    dropped: list[dict[str, Any]] = []
    steps: list[dict[str, Any]] = []
    for row in failed:
        if (row['request_id'], row['step'], row['peer'], row['kind']) in told:
            continue  # failed under the hold: already in the trail, and holding the later ones on purpose
        what = f"ISO 18626 {row['kind']} to {row['peer']}"
        if row['passed']:
            dropped.append({'message_id': row['id']})
            steps.append(_step(row, 'peer_message_dropped', 'drop_peer_message', now,
                               reason='later messages to that peer went ahead of it',
                               note=f'{what} dropped when the broker was upgraded: it failed while a failed message '
                                    'still let the later ones go ahead, and later ones to that peer did; it will not '
                                    'be sent'))
        else:
            steps.append(_step(row, 'peer_message_failed', row['step'], now, reason=None,
                               note=f'{what} not delivered (it failed while a failed message still let the later '
                                    'ones go ahead); later messages about this request to that peer wait until it '
                                    'is redelivered or dropped'))
    if dropped:
        bind.execute(sa.update(_messages).where(_messages.c.id == sa.bindparam('message_id'),
                                                _messages.c.status == 'failed')
                     .values(status='dropped', claimed_until=None), dropped)
    steps = [s for s in steps if s['requester_state'] is not None]  # no request left to show a trail
    if steps:
        bind.execute(sa.insert(_steps), steps)


def downgrade() -> None:
    bind = op.get_bind()
    noted = [row for row in bind.execute(sa.select(_steps.c.id, _steps.c.step, _steps.c.details).where(
        _steps.c.step.in_(_NOTED), _steps.c.actor == 'system')) if _marked(row.details)]
    dropped = [{'message_id': row.details['message_id']} for row in noted if row.step == 'peer_message_dropped']
    if dropped:
        bind.execute(sa.update(_messages).where(_messages.c.id == sa.bindparam('message_id'),
                                                _messages.c.status == 'dropped')
                     .values(status='failed'), dropped)
    if noted:
        bind.execute(sa.delete(_steps).where(_steps.c.id == sa.bindparam('step_id')),
                     [{'step_id': row.id} for row in noted])


def _failures_in_trail(bind: sa.Connection) -> set[tuple[Any, ...]]:
    """(request, step, peer, kind) of the failures the delivery worker wrote in a trail (it names no message id)."""
    rows = bind.execute(sa.select(_steps.c.request_id, _steps.c.action, _steps.c.details).where(
        _steps.c.step == 'peer_message_failed'))
    return {(r.request_id, r.action, r.details.get('peer'), r.details.get('kind'))
            for r in rows if isinstance(r.details, dict)}


def _marked(details: Any) -> bool:
    return isinstance(details, dict) and details.get('migration') == revision


def _step(row: Any, step: str, action: str, now: datetime, *, reason: str | None, note: str) -> dict[str, Any]:
    return {
        'request_id': row['request_id'], 'step': step, 'action': action, 'actor': 'system', 'actor_institution': None,
        'party': 'system', 'lender': row['lender'], 'requester_state': row['requester_state'],
        'supplier_state': row['supplier_state'], 'reason': reason, 'note': note,
        'details': {'message_id': row['id'], 'peer': row['peer'], 'kind': row['kind'], 'attempts': row['attempts'],
                    **_MARK},
        'occurred_at': now}
