"""meshkit: the one shared way Bibliomesh services do settings, logging, persistence, events, telemetry and errors."""
