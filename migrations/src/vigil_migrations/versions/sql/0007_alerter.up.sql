-- The alerter's state (issue 10): the seed 001 alert lifecycle, Alertmanager's source state,
-- escalation; aggregation groups; the notification outbox; Alertmanager-style silences.

-- alerts: `status` is the operator's lifecycle (seed 001), `active` the source's state
-- (Alertmanager's firing/resolved). One active alert per fingerprint.
DROP INDEX alerts_open_fingerprint_key;
ALTER TABLE alerts DROP CONSTRAINT alerts_status_check;
UPDATE alerts SET status = 'new' WHERE status IN ('firing', 'silenced');
ALTER TABLE alerts
    ALTER COLUMN status SET DEFAULT 'new',
    ADD CONSTRAINT alerts_status_check CHECK (status IN
        ('new', 'acknowledged', 'investigating', 'resolved', 'false_positive', 'dismissed')),
    ADD COLUMN source           text        NOT NULL DEFAULT '',
    ADD COLUMN annotations      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    ADD COLUMN generator_url    text,
    ADD COLUMN active           boolean     NOT NULL DEFAULT true,
    ADD COLUMN ends_at          timestamptz,
    ADD COLUMN escalated        boolean     NOT NULL DEFAULT false,
    ADD COLUMN escalated_at     timestamptz,
    ADD COLUMN escalation_level integer     NOT NULL DEFAULT 0,
    ADD CONSTRAINT alerts_annotations_object CHECK (jsonb_typeof(annotations) = 'object'),
    ADD CONSTRAINT alerts_escalation_level_check CHECK (escalation_level >= 0);
UPDATE alerts SET active = false WHERE status = 'resolved';
COMMENT ON COLUMN alerts.status IS
    'Operator lifecycle: new -> acknowledged -> investigating -> resolved | false_positive | dismissed.';
COMMENT ON COLUMN alerts.active IS
    'Source state: true while the source says firing (Alertmanager: endsAt unset or future).';
COMMENT ON COLUMN alerts.ends_at IS
    'When the source resolved it, or (API alerts) when it resolves unless refreshed.';
CREATE UNIQUE INDEX alerts_active_fingerprint_key ON alerts (fingerprint) WHERE active;
CREATE INDEX alerts_active_ends_at_idx ON alerts (ends_at) WHERE active AND ends_at IS NOT NULL;
CREATE INDEX alerts_unacknowledged_idx ON alerts (first_seen_at) WHERE status = 'new' AND active;

-- Aggregation groups (Alertmanager's dispatcher state, persisted): one row per route x group
-- labels. A replica flushes a due group inside a transaction holding its row lock
-- (FOR UPDATE SKIP LOCKED), so each flush happens on one replica.
CREATE TABLE alert_groups (
    group_key          text        NOT NULL,
    route_key          text        NOT NULL,
    receiver           text        NOT NULL,
    group_labels       jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at         timestamptz NOT NULL,
    next_flush_at      timestamptz NOT NULL,
    flushed_at         timestamptz,
    notified_at        timestamptz,
    notified_firing    text[]      NOT NULL DEFAULT '{}',
    notified_resolved  text[]      NOT NULL DEFAULT '{}',
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT alert_groups_pkey PRIMARY KEY (group_key),
    CONSTRAINT alert_groups_labels_object CHECK (jsonb_typeof(group_labels) = 'object')
);
COMMENT ON TABLE alert_groups IS
    'Alertmanager aggregation groups: group_key = route key + ":" + group labels. notified_* are '
    'the fingerprints of the last notification (Alertmanager''s notification log).';
CREATE INDEX alert_groups_next_flush_idx ON alert_groups (next_flush_at);
CREATE TRIGGER alert_groups_touch_updated_at BEFORE UPDATE ON alert_groups
    FOR EACH ROW EXECUTE FUNCTION vigil_touch_updated_at();

CREATE TABLE alert_group_members (
    group_key  text   NOT NULL,
    alert_id   bigint NOT NULL,
    CONSTRAINT alert_group_members_pkey PRIMARY KEY (group_key, alert_id),
    CONSTRAINT alert_group_members_group_fkey FOREIGN KEY (group_key)
        REFERENCES alert_groups (group_key) ON DELETE CASCADE,
    CONSTRAINT alert_group_members_alert_fkey FOREIGN KEY (alert_id)
        REFERENCES alerts (id) ON DELETE CASCADE
);
CREATE INDEX alert_group_members_alert_idx ON alert_group_members (alert_id);

-- notifications: the outbox. A flush inserts one pending row per group x receiver
-- integration, with the rendered payload, in the transaction that records the flush; the
-- dispatcher leases due rows, sends, and marks them sent or retries them.
ALTER TABLE notifications
    DROP CONSTRAINT notifications_status_check,
    ADD CONSTRAINT notifications_status_check
        CHECK (status IN ('pending', 'sent', 'failed', 'suppressed')),
    ADD COLUMN group_key        text,
    ADD COLUMN alert_ids        bigint[]    NOT NULL DEFAULT '{}',
    ADD COLUMN kind             text        NOT NULL DEFAULT 'firing',
    ADD COLUMN idempotency_key  text,
    ADD COLUMN payload          jsonb,
    ADD COLUMN next_attempt_at  timestamptz,
    ADD COLUMN deadline_at      timestamptz,
    ADD COLUMN lease_owner      text,
    ADD COLUMN lease_until      timestamptz,
    ADD CONSTRAINT notifications_kind_check CHECK (kind IN ('firing', 'resolved', 'escalation'));
COMMENT ON COLUMN notifications.alert_id IS 'The first alert of alert_ids (history lookups use both).';
COMMENT ON COLUMN notifications.idempotency_key IS
    'Stable per group x receiver integration x flush; sent to receivers (Idempotency-Key).';
CREATE INDEX notifications_idempotency_key_idx ON notifications (idempotency_key);
CREATE INDEX notifications_alert_ids_idx ON notifications USING gin (alert_ids);
DROP INDEX notifications_pending_idx;
CREATE INDEX notifications_due_idx ON notifications (next_attempt_at) WHERE status = 'pending';

-- silences: Alertmanager's shape (a list of matchers, a UUID the API speaks).
ALTER TABLE silences DROP CONSTRAINT silences_matchers_object;
UPDATE silences SET matchers = (
    SELECT coalesce(jsonb_agg(jsonb_build_object(
        'name', key, 'value', value #>> '{}', 'isRegex', false, 'isEqual', true)), '[]'::jsonb)
    FROM jsonb_each(matchers))
WHERE jsonb_typeof(matchers) = 'object';
ALTER TABLE silences
    ADD COLUMN uuid uuid NOT NULL DEFAULT gen_random_uuid(),
    ADD CONSTRAINT silences_uuid_key UNIQUE (uuid),
    ADD CONSTRAINT silences_matchers_array CHECK (jsonb_typeof(matchers) = 'array');
COMMENT ON TABLE silences IS
    'Alertmanager silences: mute alerts whose labels match every matcher '
    '({name, value, isRegex, isEqual}) while starts_at <= now < ends_at. Expiring sets ends_at.';

GRANT SELECT, INSERT, UPDATE, DELETE ON alert_groups, alert_group_members TO vigil_alerter;
GRANT SELECT ON alert_groups, alert_group_members TO vigil_cli, vigil_readonly;
-- An alert's history (GET /api/vigil/v1/alerts/{id}/history) lists its audit rows.
GRANT SELECT ON audit_log TO vigil_alerter;

SELECT vigil_adopt_ownership();
