"""Which installed packages the sandbox shows: an allow-list, not a block-list.

The contract lets a submission use NumPy and the standard library; the notebooks
also need matplotlib (plots), SymPy (derivations) and IPython (the shell that runs
the cells). Those distributions and everything they require (read from their
installed metadata, so a new version's new dependency comes along by itself) are
the only ones the sandbox can import. Every site-packages or dist-packages folder
the mounted interpreters or the distribution would otherwise expose (the virtual
environment's, the base interpreter's, /usr/lib/python3/dist-packages, a conda
base) is covered by an empty read-only tmpfs, and only the allowed packages'
own files are mounted back into it. SciPy, scikit-learn, torch, or anything an
administrator installs later, is absent whatever path a student adds to sys.path.
"""
import functools
import glob
import os
import re
import site
import sys
import sysconfig
from importlib import metadata

ALLOWED_DISTRIBUTIONS = ("numpy", "matplotlib", "sympy", "ipython")
# Never shown, even if an allowed distribution ever required it (the grader's own
# code, the gradebook, and libraries that hold ready-made losses).
NEVER_SHOWN = frozenset({"torch", "scipy", "scikit-learn", "sklearn", "jax", "jaxlib", "tensorflow",
                         "mle-grading", "nbgrader", "sqlalchemy", "alembic"})


def _canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirements(dist):
    """Names of the distributions `dist` requires outside any extra."""
    names = []
    for requirement in dist.requires or ():
        spec, _, marker = requirement.partition(";")
        if "extra" in marker:
            continue
        if marker.strip() and not _marker_holds(marker):
            continue
        names.append(re.match(r"\s*([A-Za-z0-9_.\-]+)", spec).group(1))
    return names


def _marker_holds(marker):
    try:
        from packaging.markers import Marker
        return Marker(marker).evaluate()
    except Exception:  # packaging absent or an unknown marker: include it, it is only a dependency
        return True


def allowed_distributions(roots=ALLOWED_DISTRIBUTIONS):
    """{canonical name: Distribution} of the allowed distributions and their requirements."""
    found, todo = {}, list(roots)
    while todo:
        name = _canonical(todo.pop())
        if name in found or name in NEVER_SHOWN:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue  # an optional platform dependency that is not installed
        found[name] = dist
        todo.extend(_requirements(dist))
    return found


@functools.lru_cache(maxsize=1)
def allowed_site_entries():
    """Sorted host paths (top-level files and folders of site dirs) the sandbox shows (once per process)."""
    entries = set()
    for dist in allowed_distributions().values():
        base = os.path.realpath(str(dist.locate_file("")))
        for path in dist.files or ():
            parts = path.parts
            if not parts or parts[0] in ("..", "__pycache__") or parts[0].endswith(".pth"):
                continue
            entry = os.path.join(base, parts[0])
            if os.path.exists(entry):
                entries.add(entry)
    return tuple(sorted(entries))


def site_directories(roots):
    """Every folder of installed packages under the mounted roots and the distribution's."""
    candidates = set(site.getsitepackages()) | {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    for root in list(roots) + ["/usr", "/usr/local"]:
        for pattern in ("lib/python3*/site-packages", "lib/python3*/dist-packages", "lib/python3/dist-packages",
                        "lib64/python3*/site-packages", "local/lib/python3*/dist-packages"):
            candidates.update(glob.glob(os.path.join(root, pattern)))
    candidates.add(os.path.join(sys.base_prefix, "lib", f"python{sys.version_info[0]}.{sys.version_info[1]}",
                                "site-packages"))
    return sorted({os.path.realpath(c) for c in candidates if os.path.isdir(c)})
