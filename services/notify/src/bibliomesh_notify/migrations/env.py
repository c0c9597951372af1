from bibliomesh_notify.adapters.tables import metadata
from meshkit.migrations import run_env

run_env(metadata)
