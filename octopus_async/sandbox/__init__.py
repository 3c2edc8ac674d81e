"""A local simulator of the Octopus Cards API, for tests, demos and development.

Run it in-process with ``async with Sandbox() as sandbox`` or from a shell with
``octopus-async sandbox --port 8080``.
"""

from .config import SandboxConfig
from .faults import Fault, FaultPlan, FaultRule
from .ledger import Ledger
from .server import Sandbox, build_app
from .shapes import SHAPE_VARIANTS
from .state import RequestRecord, SandboxState
from .tokens import TokenAuthority

__all__ = [
    "SHAPE_VARIANTS",
    "Fault",
    "FaultPlan",
    "FaultRule",
    "Ledger",
    "RequestRecord",
    "Sandbox",
    "SandboxConfig",
    "SandboxState",
    "TokenAuthority",
    "build_app",
]
