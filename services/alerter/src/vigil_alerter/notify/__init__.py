"""What a notification says: Alertmanager's webhook body (:mod:`vigil_alerter.notify.message`)."""
