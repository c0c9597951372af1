import sys
from pathlib import Path

# The service directory has a hyphen, so its test helpers cannot be imported as a package path.
sys.path.insert(0, str(Path(__file__).parent))
