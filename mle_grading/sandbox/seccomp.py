"""The sandbox's seccomp filter as BPF for bubblewrap's `--seccomp FD`, compiled by libseccomp.

The deny-list itself is `mle_grading.inside_sandbox.syscall_filter` (by system call name),
which the warm sandboxes' parent loads into each child it forks; a cold sandbox gets the
same filter here, exported by libseccomp for the machine's own architecture.
"""
import functools
import tempfile

from mle_grading.inside_sandbox import syscall_filter


class SeccompUnsupported(RuntimeError):
    """libseccomp is missing here, or does not know this machine's architecture."""


@functools.lru_cache(maxsize=1)
def program():
    """The filter as bytes: an array of `struct sock_filter`, as bubblewrap reads it (built once per process)."""
    try:
        compiled = syscall_filter.build()
    except (ImportError, OSError, RuntimeError) as exc:
        # pyseccomp raises RuntimeError when it cannot find libseccomp.so.2.
        raise SeccompUnsupported(
            f"the sandbox's seccomp filter could not be built with libseccomp ({exc}); install the Debian "
            "package libseccomp2 and pyseccomp (requirements.txt), or set c.SandboxLimits.seccomp = False "
            "in course_config.py to grade without it") from exc
    with tempfile.TemporaryFile() as out:
        compiled.export_bpf(out)
        out.seek(0)
        return out.read()
