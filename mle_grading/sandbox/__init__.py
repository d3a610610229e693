"""Running a submission's code where it can do no harm, and talking to it as data."""
from mle_grading.sandbox.runner import SandboxSession, SandboxStudent, SandboxUnavailable, sandbox_command  # noqa: F401
