"""The event bus: one interface, two transports (RabbitMQ, and an embedded durable one for the one-process mode)."""

from meshkit.bus.transport import (
    BatchHandler,
    DeadLetter,
    Delivery,
    Handler,
    OutgoingMessage,
    PermanentFailure,
    PublishFailed,
    RetryPolicy,
    Subscription,
    Transport,
)

__all__ = [
    "BatchHandler",
    "DeadLetter",
    "Delivery",
    "Handler",
    "OutgoingMessage",
    "PermanentFailure",
    "PublishFailed",
    "RetryPolicy",
    "Subscription",
    "Transport",
]
