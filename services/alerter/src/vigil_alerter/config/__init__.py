"""The alerter's configuration: Alertmanager's YAML with Vigil's extensions (docs/alerter.md)."""
