"""The alerter's engine: alerts in (intake), aggregation groups flushed to the outbox (flusher),
API alerts resolved when their ``endsAt`` passes (expiry)."""
