"""Delivery of the notification outbox (``notifications``) to receivers.

:class:`~vigil_alerter.delivery.dispatcher.Dispatcher` leases due pending rows per receiver
(:mod:`~vigil_alerter.delivery.ledger`), sends them through the receiver's integrations
(:mod:`vigil_alerter.receivers`) outside any transaction, then marks them sent, schedules a
retry (:mod:`~vigil_alerter.delivery.backoff_policy`) or fails them onto ``vigil:dlq``.
Settings: :class:`~vigil_alerter.delivery.settings.DeliverySettings`.
"""

from vigil_alerter.delivery.dispatcher import Dispatcher
from vigil_alerter.delivery.settings import DeliverySettings

__all__ = ["DeliverySettings", "Dispatcher"]
