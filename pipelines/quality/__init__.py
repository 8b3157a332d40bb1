"""Quality engine (no Dagster needed): GX suites from ``expectations/``, reports, identity scanner.

    from pipelines.quality import run_checks, load_suites, run_suite, write_reports
    from pipelines.quality.scan import scan_paths, scan_data_dir
"""

from pipelines.quality.engine import (  # noqa: F401
    Suite,
    load_run,
    load_suites,
    run_checks,
    run_suite,
    save_outcome,
)
from pipelines.quality.reports import write_reports  # noqa: F401

