from bibliomesh_catalog.adapters.tables import metadata
from meshkit.migrations import run_env

run_env(metadata)
