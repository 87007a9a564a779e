"""The alerter's PostgreSQL state: alerts, groups, the outbox, silences (asyncpg)."""
