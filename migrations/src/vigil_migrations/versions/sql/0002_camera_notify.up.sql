-- Camera registry change notifications (channel vigil_cameras, payload = the camera id).
-- The ingest keeps the registry in memory and LISTENs on this channel; NOTIFY is
-- transactional, so listeners hear of a change only once it is committed.

CREATE FUNCTION vigil_notify_camera_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('vigil_cameras', OLD.id);
        RETURN OLD;
    END IF;
    PERFORM pg_notify('vigil_cameras', NEW.id);
    IF TG_OP = 'UPDATE' AND NEW.id IS DISTINCT FROM OLD.id THEN
        PERFORM pg_notify('vigil_cameras', OLD.id);
    END IF;
    RETURN NEW;
END;
$$;
COMMENT ON FUNCTION vigil_notify_camera_change() IS
    'Trigger: pg_notify(''vigil_cameras'', id) for every changed camera row.';

CREATE TRIGGER cameras_notify_change AFTER INSERT OR UPDATE OR DELETE ON cameras
    FOR EACH ROW EXECUTE FUNCTION vigil_notify_camera_change();
