"""What the Pulumi engine runs for ``--policy-pack policy``: serve the pack."""

import sys
from pathlib import Path

# The engine runs this file with policy/ itself at the front of sys.path (cwd policy/), where
# `import policy.…` fails and policy/secrets.py would shadow the standard library's `secrets`.
# Putting the repository root there instead makes the one import style, `policy.…`, work both
# here and for `python -m policy.scan` run from the repository root.
PACK_DIR = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != PACK_DIR]
sys.path.insert(0, str(PACK_DIR.parent))

from policy.pack import serve  # noqa: E402

serve()
