"""The alerter's PostgreSQL state: alerts, aggregation groups, the outbox, silences (read side).

Every function takes an ``asyncpg`` connection (the caller owns the transaction) and the
current time as a parameter: nothing here calls SQL ``now()``.
"""
