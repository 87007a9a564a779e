REVOKE SELECT ON audit_log FROM vigil_alerter;
DROP TABLE IF EXISTS alert_group_members;
DROP TABLE IF EXISTS alert_groups;

ALTER TABLE silences DROP CONSTRAINT silences_matchers_array;
ALTER TABLE silences DROP CONSTRAINT silences_uuid_key, DROP COLUMN uuid;
UPDATE silences SET matchers = (
    SELECT coalesce(jsonb_object_agg(m ->> 'name', m ->> 'value'), '{}'::jsonb)
    FROM jsonb_array_elements(matchers) AS m)
WHERE jsonb_typeof(matchers) = 'array';
ALTER TABLE silences ADD CONSTRAINT silences_matchers_object CHECK (jsonb_typeof(matchers) = 'object');
COMMENT ON TABLE silences IS
    'Suppress notifications of alerts whose labels match every key/value of matchers '
    'while now() is in [starts_at, ends_at). Expiring sets ends_at.';

DROP INDEX notifications_due_idx;
CREATE INDEX notifications_pending_idx ON notifications (created_at) WHERE status = 'pending';
DROP INDEX notifications_alert_ids_idx;
DROP INDEX notifications_idempotency_key_idx;
ALTER TABLE notifications
    DROP CONSTRAINT notifications_kind_check,
    DROP COLUMN lease_until, DROP COLUMN lease_owner, DROP COLUMN deadline_at,
    DROP COLUMN next_attempt_at, DROP COLUMN payload, DROP COLUMN idempotency_key,
    DROP COLUMN kind, DROP COLUMN alert_ids, DROP COLUMN group_key;

DROP INDEX alerts_unacknowledged_idx;
DROP INDEX alerts_active_ends_at_idx;
DROP INDEX alerts_active_fingerprint_key;
ALTER TABLE alerts DROP CONSTRAINT alerts_status_check;
UPDATE alerts SET status = CASE
    WHEN status IN ('resolved', 'false_positive', 'dismissed') THEN 'resolved'
    WHEN status = 'new' THEN 'firing'
    ELSE 'acknowledged' END;
ALTER TABLE alerts
    DROP CONSTRAINT alerts_escalation_level_check,
    DROP CONSTRAINT alerts_annotations_object,
    DROP COLUMN escalation_level, DROP COLUMN escalated_at, DROP COLUMN escalated,
    DROP COLUMN ends_at, DROP COLUMN active, DROP COLUMN generator_url,
    DROP COLUMN annotations, DROP COLUMN source,
    ALTER COLUMN status SET DEFAULT 'firing',
    ADD CONSTRAINT alerts_status_check
        CHECK (status IN ('firing', 'acknowledged', 'resolved', 'silenced'));
CREATE UNIQUE INDEX alerts_open_fingerprint_key ON alerts (fingerprint) WHERE status <> 'resolved';
