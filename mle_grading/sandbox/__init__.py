"""Running a submission's code where it can do no harm, and talking to it as data."""
from .runner import SandboxSession, SandboxStudent, SandboxUnavailable, sandbox_command  # noqa: F401
