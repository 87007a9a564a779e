"""vigil_analyzer."""
