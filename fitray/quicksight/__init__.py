"""QuickSight as code: the original "Exercises Analysis" recreated on Redshift.

The definitions live in ``deploy/quicksight`` (JSON request bodies with placeholders). This
package renders them for one account (:mod:`.definitions`), builds every request up front
(:mod:`.plan`), checks them offline against botocore's service model and against each other
(:mod:`.shapes`, :mod:`.references`, :mod:`.validate`) and applies them idempotently with
boto3 (:mod:`.client`, :mod:`.apply`). ``fitray quicksight`` is the command line over it.
"""

from fitray.quicksight.apply import Applier, ApplyResult, Waiting
from fitray.quicksight.client import check_region, make_client
from fitray.quicksight.definitions import DEFAULT_DIRECTORY, Target, load_definitions
from fitray.quicksight.plan import Plan, RedshiftCredentials, build_plan
from fitray.quicksight.validate import check_plan, ensure_valid

__all__ = [
    "DEFAULT_DIRECTORY",
    "Applier",
    "ApplyResult",
    "Plan",
    "RedshiftCredentials",
    "Target",
    "Waiting",
    "build_plan",
    "check_plan",
    "check_region",
    "ensure_valid",
    "load_definitions",
    "make_client",
]
