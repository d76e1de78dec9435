"""``python -m cloudomation_kit.flow_api path/to/flow.py``: run a flow's ``handler``."""

from __future__ import annotations

import sys

from ._runner import main

sys.exit(main())
