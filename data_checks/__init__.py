"""Data-quality gates: Great Expectations suites as code and one function that validates.

GX usage analytics are turned off before GX is imported: the warehouse may run where the network
is closed, and nothing about the data should leave the machine.
"""

import os

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
