"""ISO 18626 (interlibrary loan transactions) for the broker: models, a safe and tolerant reader, a writer checked
against the official schemas, confirmations, and a client that sends messages to peers.

    message = parse(body)                      # raises Iso18626Error -> answer serialize(confirm_failure(error))
    answer = serialize(confirm(message))       # OK confirmation, in the edition the peer used
    confirmation = await PeerClient().send(request, peer_url)

Both editions are supported: 1.2 (2017; what ReShare, CrossLink and OCLC speak) and 2021. One set of models
covers both; `serialize` writes what the chosen edition has.
"""

from bibliomesh_ill.iso18626.codes import (
    Action,
    ErrorType,
    MessageKind,
    MessageStatus,
    PreferredEdition,
    ReasonForMessage,
    RequestSubType,
    RequestType,
    ServiceType,
    Status,
    Version,
)
from bibliomesh_ill.iso18626.confirm import confirm, confirm_failure
from bibliomesh_ill.iso18626.errors import HeaderEcho, Iso18626Error, SerializationError
from bibliomesh_ill.iso18626.models import *  # noqa: F403
from bibliomesh_ill.iso18626.models import __all__ as _model_names
from bibliomesh_ill.iso18626.parse import MAX_MESSAGE_BYTES, parse
from bibliomesh_ill.iso18626.reader import NAMESPACE
from bibliomesh_ill.iso18626.serialize import serialize

__all__ = [
    "MAX_MESSAGE_BYTES", "NAMESPACE", "Action", "ErrorType", "HeaderEcho", "Iso18626Error", "MessageKind",
    "MessageStatus", "PreferredEdition", "ReasonForMessage", "RequestSubType", "RequestType", "SerializationError",
    "ServiceType", "Status", "Version", "confirm", "confirm_failure", "parse", "serialize", *_model_names,
]
