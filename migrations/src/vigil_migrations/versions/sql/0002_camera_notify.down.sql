DROP TRIGGER IF EXISTS cameras_notify_change ON cameras;
DROP FUNCTION IF EXISTS vigil_notify_camera_change();
