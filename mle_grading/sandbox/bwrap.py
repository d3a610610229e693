"""How a sandbox is built: bubblewrap's command line, the sandbox's environment, its uid.

Shared by the cold sandbox (runner.py: one bwrap per notebook) and the warm sandboxes'
parent (warm.py: one bwrap per grading process, which forks a child per notebook), so
that both start from the same view of the machine.
"""
import os
import shutil
import subprocess
import sys

from mle_grading import inside_sandbox
from mle_grading.inside_sandbox import wire
from mle_grading.sandbox import packages

INSIDE = os.path.dirname(os.path.abspath(inside_sandbox.__file__))   # mounted at /opt/grader (but trusted_inner.py)
BLOCKED_PACKAGE = os.path.join(INSIDE, "blocked_package")
NOT_MOUNTED_INSIDE = ("trusted_inner.py", "__pycache__")

# Names that get the explanatory ImportError of blocked_package instead of a bare
# ModuleNotFoundError (the allow-list in packages.py is what keeps them out).
EXPLAINED_ABSENT = ("torch", "scipy", "sklearn", "jax", "tensorflow", "mle_grading", "nbgrader")


class SandboxUnavailable(RuntimeError):
    """The machine lacks what the sandbox needs (bubblewrap), or its set-up is unsafe."""


def python_roots():
    """The Python installations the sandbox mounts read-only (the virtual environment's and its base)."""
    roots = {os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix)}
    return sorted(r for r in roots if not r.startswith("/usr"))


def _mount_parents(cmd, path, made):
    # bwrap would create the parents of a mount point private (0700) to root.
    parts = path.strip("/").split("/")[:-1]
    for i in range(1, len(parts) + 1):
        parent = "/" + "/".join(parts[:i])
        if parent not in made and parent not in ("/usr",):
            cmd += ["--perms", "0755", "--dir", parent]
            made.add(parent)


def _allowed_packages_mounts(roots):
    """Mask every site folder with an empty tmpfs, then mount the allowed packages back."""
    cmd = []
    sites = packages.site_directories(roots)
    for site_dir in sites:
        cmd += ["--perms", "0755", "--tmpfs", site_dir]
    for entry in packages.allowed_site_entries():
        cmd += ["--ro-bind", entry, entry]
    for site_dir in sites:
        for name in EXPLAINED_ABSENT:
            cmd += ["--ro-bind", BLOCKED_PACKAGE, os.path.join(site_dir, name)]
        cmd += ["--remount-ro", site_dir]
    return cmd


# What the warm sandboxes' parent needs to build each child's sandbox, and no more: each one justified in docs/sandbox.md.
ZYGOTE_CAPABILITIES = ("CAP_SYS_ADMIN", "CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP", "CAP_NET_ADMIN")


# Imported by the warm sandboxes' parent only: libseccomp's and libcap's bindings.
PARENT_LIBRARIES = ("pyseccomp", "prctl", "_prctl")
PARENT_LIBRARY_DIRECTORY = "/opt/grader-lib"


def _module_files(name):
    import importlib.util
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.origin:
        raise SandboxUnavailable(f"the warm sandboxes' parent needs the Python module {name!r} "
                                 "(requirements.txt: pyseccomp, python-prctl)")
    return [os.path.realpath(spec.origin)]


def sandbox_command(files, limits, seccomp_fd=None, control_fd=None):
    """The bwrap command line; `files` maps names in the home to host paths.

    With `control_fd`, the command of the warm sandboxes' parent (zygote.py), which
    is given a few capabilities instead of being dropped to the sandbox uid.
    """
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise SandboxUnavailable(
            "bubblewrap (bwrap) is not installed: the grader runs every submission in it. "
            "Install it with `apt-get install bubblewrap` (the README's set-up does this).")
    as_root = os.geteuid() == 0
    cmd = [bwrap, "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
           "--die-with-parent", "--new-session", "--hostname", "grading"]
    if not as_root:
        # Unprivileged: a user namespace, and the rlimits count the grader's own uid.
        cmd += ["--unshare-user", "--uid", "65534", "--gid", "65534", "--cap-drop", "ALL"]
    cmd += ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "lib", "lib64", "sbin"):
        if os.path.islink(f"/{name}"):
            cmd += ["--symlink", os.readlink(f"/{name}"), f"/{name}"]
        elif os.path.isdir(f"/{name}"):
            cmd += ["--ro-bind", f"/{name}", f"/{name}"]
    for etc in ("/etc/ld.so.cache", "/etc/localtime", "/etc/fonts"):
        if os.path.exists(etc):
            cmd += ["--ro-bind", etc, etc]
    # /tmp first: the Python installation may itself live under /tmp (a CI clone),
    # and a later mount would hide it.
    cmd += ["--perms", "1777", "--size", str(limits.tmp_bytes), "--tmpfs", "/tmp"]
    made = set()
    roots = python_roots()
    for root in roots:
        _mount_parents(cmd, root, made)
        cmd += ["--ro-bind", root, root]
    cmd += _allowed_packages_mounts(roots)
    _mount_parents(cmd, "/opt/grader", made)   # /opt readable by the sandbox uid, not root's alone
    cmd += ["--proc", "/proc", "--dev", "/dev",
            "--perms", "1777", "--size", str(limits.home_bytes), "--tmpfs", "/home/student",
            "--perms", "0755", "--dir", "/opt/grader"]
    for name in sorted(os.listdir(INSIDE)):
        # All of inside_sandbox/ but the trusted inner functions: their source is sent with the one call
        # that needs them (boundary/protocol.py), and is never readable in the sandbox otherwise.
        if name not in NOT_MOUNTED_INSIDE:
            cmd += ["--ro-bind", os.path.join(INSIDE, name), f"/opt/grader/{name}"]
    for cache_file in _matplotlib_font_cache():
        # A writable config dir holding a read-only copy of the font cache: without
        # it matplotlib rebuilds the cache in every sandbox.
        cmd += ["--perms", "0777", "--dir", "/tmp/matplotlib",
                "--ro-bind", cache_file, f"/tmp/matplotlib/{os.path.basename(cache_file)}"]
    for name, host_path in sorted(files.items()):
        cmd += ["--ro-bind", host_path, f"/home/student/{name}"]
    cmd += ["--chdir", "/home/student", "--clearenv"]
    for key, value in sandbox_environment(limits).items():
        cmd += ["--setenv", key, value]
    if control_fd is not None:
        # The two libraries the parent builds its children with, beside (never in) the allowed packages.
        for module in PARENT_LIBRARIES:
            for path in _module_files(module):
                cmd += ["--ro-bind", path, f"{PARENT_LIBRARY_DIRECTORY}/{os.path.basename(path)}"]
        # As root, bubblewrap keeps every capability unless told otherwise: all dropped, then the few added.
        cmd += ["--cap-drop", "ALL"]
        for capability in ZYGOTE_CAPABILITIES:
            cmd += ["--cap-add", capability]
        return cmd + ["--", os.path.join(os.path.realpath(sys.prefix), "bin", "python"), "-I", "/opt/grader/zygote.py",
                      str(control_fd)]
    if seccomp_fd is not None:
        cmd += ["--seccomp", str(seccomp_fd)]
    cmd += ["--"]
    if as_root:
        # As root, bwrap needs no user namespace; the worker then drops to a real
        # unprivileged uid of its own, so that RLIMIT_NPROC applies (root is exempt).
        uid = str(sandbox_uid(limits))
        cmd += [shutil.which("setpriv") or "/usr/bin/setpriv", f"--reuid={uid}", f"--regid={uid}",
                "--clear-groups", "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all", "--"]
    cmd += [os.path.join(os.path.realpath(sys.prefix), "bin", "python"), "-I", "/opt/grader/worker.py"]
    return cmd


def sandbox_environment(limits):
    """The whole environment of a sandbox's process."""
    return {"HOME": "/home/student", "PATH": "/usr/bin:/bin", "MPLBACKEND": "Agg",
            "MPLCONFIGDIR": "/tmp/matplotlib", "IPYTHONDIR": "/tmp/ipython",
            "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
            "PYTHONDONTWRITEBYTECODE": "1", "LANG": "C.UTF-8", "NBGRADER_EXECUTION": "autograde",
            "MLE_GRADING_CAPS": wire.dumps({"text": limits.cell_text_bytes, "images": limits.cell_images,
                                            "image_bytes": limits.image_bytes})}


_FONT_CACHE = []


def _matplotlib_font_cache():
    """Build matplotlib's font list once per grading process, outside the sandbox."""
    if not _FONT_CACHE:
        import glob
        import tempfile
        folder = os.path.join(sys.prefix, ".mle_grading_matplotlib")  # owned by the grader, not /tmp
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError:
            folder = tempfile.mkdtemp(prefix="mle_grading_matplotlib_")
        env = dict(os.environ, MPLCONFIGDIR=folder, MPLBACKEND="Agg")
        subprocess.run([sys.executable, "-c", "import matplotlib.font_manager"], env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        _FONT_CACHE.extend(sorted(glob.glob(os.path.join(folder, "fontlist-*.json")))[-1:])
    return _FONT_CACHE


_CHECKED_UID_RANGES = set()


def check_uid_range(limits):
    """Refuse a sandbox uid range that holds a real account or group (password and group databases)."""
    import grp
    import pwd
    first, last = limits.uid_base, limits.uid_base + limits.uid_slots - 1
    if (first, last) in _CHECKED_UID_RANGES:
        return
    if first < 65536 or last >= 2 ** 32 - 1:
        raise SandboxUnavailable(f"the sandbox uid range {first}-{last} must lie within 65536..4294967294, "
                                 "above every account range (set c.SandboxLimits.uid_base)")
    taken = sorted({u.pw_uid for u in pwd.getpwall() if first <= u.pw_uid <= last}
                   | {g.gr_gid for g in grp.getgrall() if first <= g.gr_gid <= last})
    if taken:
        raise SandboxUnavailable(
            f"the sandbox uid range {first}-{last} holds real accounts or groups ({taken[:5]}): a student's "
            "code would run as them; move it with c.SandboxLimits.uid_base in course_config.py")
    _CHECKED_UID_RANGES.add((first, last))


_CLAIMED_SLOT = {}
UID_LOCK_DIRECTORY = "/run/lock" if os.path.isdir("/run/lock") else "/tmp"


def sandbox_uid(limits):
    """An unprivileged uid with no account, one per grading process on this machine.

    The slot starts at pid % uid_slots and is claimed with a lock held for the
    process's life, so two grading processes (Dask workers, say) never share a uid,
    and with it a process limit, even when their pids agree modulo uid_slots.
    """
    import fcntl
    check_uid_range(limits)
    key = (limits.uid_base, limits.uid_slots)
    if _CLAIMED_SLOT.get(key, (None, None))[0] != os.getpid():   # a forked child claims its own
        for step in range(limits.uid_slots):
            slot = (os.getpid() + step) % limits.uid_slots
            fd = os.open(os.path.join(UID_LOCK_DIRECTORY, f"mle_grading-uid-{limits.uid_base + slot}.lock"),
                         os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            _CLAIMED_SLOT[key] = (os.getpid(), slot, fd)
            break
        else:
            raise SandboxUnavailable(f"all {limits.uid_slots} sandbox uid slots are in use by other graders")
    return limits.uid_base + _CLAIMED_SLOT[key][1]


