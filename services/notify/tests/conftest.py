import sys
from pathlib import Path

# Test helpers (notify_fixtures) are imported by module name, as the other services do.
sys.path.insert(0, str(Path(__file__).parent))
