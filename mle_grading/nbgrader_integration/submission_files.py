"""Only the student's own files, and only files.

A submission folder (collected from the exchange, copied from git or unpacked
from an archive) may hold symbolic links, hard links, FIFOs or device nodes.
nbgrader reads and copies what they point to with the instructor's rights:
autograde copies every extra file into autograded/, generate_feedback into
feedback/, and release_feedback publishes every page there. So before nbgrader
touches a submission, everything in it that is not a plain regular file with one
name is moved aside into `.set-aside/` (kept, never followed, never deleted;
nbgrader ignores dot-folders through CourseDirectory.ignore), and a notebook that
was one is replaced by a placeholder that says why, so it scores 0 and the rest is
graded. A symbolic link in place of the submission folder (or the student's
folder) is moved aside the same way, and the submission is graded as empty.
"""
import datetime
import fnmatch
import json
import os
import stat

SET_ASIDE = ".set-aside"


def why_not_own_file(path):
    """None for a regular file with one name; otherwise what it is."""
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        return "a symbolic link"
    if stat.S_ISDIR(info.st_mode):
        return None
    if not stat.S_ISREG(info.st_mode):
        return "a device, FIFO or socket, not a file"
    if info.st_nlink != 1:
        return "a hard link (a second name of a file that may not be the student's)"
    return None


def kernel_time(folder, most=None):
    """The latest change time (ctime) of the folder and everything in it, as an aware UTC datetime.

    The kernel sets a ctime on every write, rename, chmod or link, and no account can set
    one back (touch sets mtime/atime only): a submission's files cannot look older than
    they are, whatever its folder name or timestamp.txt say. Past `most` entries the walk
    stops, and the time is now (such a submission is over its limits anyway).
    """
    import time
    latest, seen = os.lstat(folder).st_ctime, 0
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            seen += 1
            if most is not None and seen > most:
                latest = max(latest, time.time())
                return datetime.datetime.fromtimestamp(latest, datetime.timezone.utc)
            latest = max(latest, os.lstat(os.path.join(dirpath, name)).st_ctime)
    return datetime.datetime.fromtimestamp(latest, datetime.timezone.utc)


def _unique(path):
    candidate, n = path, 1
    while os.path.lexists(candidate):
        n += 1
        candidate = f"{path}-{n}"
    return candidate


def _set_aside(path, top, log):
    folder = os.path.join(top, SET_ASIDE)
    os.makedirs(folder, exist_ok=True)
    relative = os.path.relpath(path, top).replace(os.sep, "__")
    target = _unique(os.path.join(folder, relative))
    os.rename(path, target)   # rename moves the link or node itself, never its target
    log(f"{path}: set aside as {target}")
    return target


def keep_only_own_files(submission, log=print):
    """Make `submission` (submitted/<student>/<assignment>) hold regular files only.

    Returns {relative path: why} of everything moved aside. The folder's parents up
    to submitted/ are checked too: a linked student or assignment folder is moved
    aside and replaced by an empty real folder.
    """
    moved = {}
    student_dir = os.path.dirname(submission)
    for folder in (student_dir, submission):
        if os.path.islink(folder):
            parent = os.path.dirname(folder)
            target = _unique(os.path.join(parent, f".{os.path.basename(folder)}.symlink-set-aside"))
            os.rename(folder, target)
            log(f"{folder}: a symbolic link, set aside as {target}; graded as empty")
            moved[os.path.relpath(folder, student_dir)] = "a symbolic link"
        os.makedirs(folder, exist_ok=True)
    for dirpath, dirnames, filenames in os.walk(submission):
        if os.path.basename(dirpath) == SET_ASIDE or f"{os.sep}{SET_ASIDE}" in dirpath[len(submission):]:
            dirnames[:] = []
            continue
        for name in list(dirnames) + filenames:
            path = os.path.join(dirpath, name)
            reason = why_not_own_file(path)
            if reason:
                moved[os.path.relpath(path, submission)] = reason
                _set_aside(path, submission, log)
                if name in dirnames:
                    dirnames.remove(name)
    return moved


# -- bounded work per submission ------------------------------------------------------

LEFT_OUT = ".left-out.json"   # what the copy into submitted/ left out, and why (read by the pre_convert_hook)
LIMITS_NOTE = "over the submission limits"   # how the notes begin: the attention lists pick them out


def _size(n):
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024


def survey(folder, limits, ignore=()):
    """What of a submission folder is graded within the limits, by lstat alone (nothing opened).

    limits: a SandboxLimits (submission_bytes, submission_file_count, notebook_bytes).
    Returns (keep, left_out): keep is [(relative path, apparent size, (st_dev, st_ino))] of the regular files
    (one name each) within the limits, the notebooks at the top first; left_out is
    {relative path: why} of the files over a limit. Sizes are st_size, a sparse file's
    apparent size. Past submission_file_count files the walk stops: the rest is one entry.
    Links, FIFOs, devices and hard links are never kept (left_out says what they are).
    """
    keep, left_out, total = [], {}, 0
    candidates = []

    def ignored(name):
        return name == LEFT_OUT or any(fnmatch.fnmatch(name, pattern) for pattern in ignore)

    with os.scandir(folder) as entries:
        notebooks = sorted(e.name for e in entries if e.name.endswith(".ipynb") and not ignored(e.name))
    for name in notebooks:
        candidates.append((name, os.path.join(folder, name)))
    seen = len(candidates)
    stack = [("", folder)]
    over_count = False
    while stack and not over_count:
        relative, path = stack.pop()
        try:
            with os.scandir(path) as entries:
                names = sorted(entries, key=lambda e: e.name)
        except OSError:
            continue
        subfolders = []
        for entry in names:
            if ignored(entry.name) or (not relative and entry.name in notebooks):
                continue
            info = entry.stat(follow_symlinks=False)
            rel = os.path.join(relative, entry.name)
            if stat.S_ISDIR(info.st_mode):
                subfolders.append((rel, entry.path))
            elif not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
                left_out[rel] = f"the file {rel} was not copied: it is {why_not_own_file(entry.path)}"
            else:
                seen += 1
                if seen > 4 * limits.submission_file_count + len(notebooks):
                    over_count = True   # enough known: the walk stops here
                    break
                candidates.append((rel, entry.path))
        stack.extend(reversed(subfolders))
    for rel, path in candidates:
        try:
            info = os.lstat(path)
        except OSError:
            continue
        if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
            left_out[rel] = f"the file {rel} was not copied: it is {why_not_own_file(path)}"
            continue
        size = info.st_size
        if rel.endswith(".ipynb") and os.sep not in rel and size > limits.notebook_bytes:
            left_out[rel] = (f"{LIMITS_NOTE}: the notebook {rel} is {_size(size)}, over the limit of "
                             f"{_size(limits.notebook_bytes)} (SandboxLimits.notebook_bytes); not graded")
        elif len(keep) >= limits.submission_file_count:
            left_out[rel] = (f"{LIMITS_NOTE}: more than {limits.submission_file_count} files "
                             "(SandboxLimits.submission_file_count); the rest were not copied or graded")
        elif total + size > limits.submission_bytes:
            left_out[rel] = (f"{LIMITS_NOTE}: the file {rel} ({_size(size)}) would take the submission past "
                             f"{_size(limits.submission_bytes)} (SandboxLimits.submission_bytes); not copied or graded")
        else:
            keep.append((rel, size, (info.st_dev, info.st_ino)))
            total += size
    if over_count:
        left_out["..."] = (f"{LIMITS_NOTE}: more than {limits.submission_file_count} files "
                           "(SandboxLimits.submission_file_count); the rest were not copied or graded")
    return keep, left_out


def summarize(left_out, shown=5):
    """The notes of `survey`'s left_out, one line each, many files of one reason counted together."""
    by_reason = {}
    for rel, why in left_out.items():
        by_reason.setdefault(why, []).append(rel)
    lines = []
    for why, paths in by_reason.items():
        named = [p for p in paths if p != "..."]
        if len(named) > 1 or "..." in paths:
            lines.append(f"{why} ({len(named)}{'+' if '...' in paths else ''} files, e.g. "
                         f"{', '.join(named[:shown])})" if named else why)
        else:
            lines.append(why)
    return lines


def copy_file_bounded(src, dest, size, ident=None):
    """Copy a regular file of `size` bytes (as surveyed) without following links; never more than that.

    ident: (st_dev, st_ino) as surveyed: a file swapped since (or reached through a folder
    swapped for a link) is not copied. Returns None, or why it was not copied.
    """
    try:
        fd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        return f"cannot be opened ({exc.strerror}: a link?)"
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
            return "not a regular file with one name"
        if info.st_size != size or (ident is not None and (info.st_dev, info.st_ino) != ident):
            return "it changed while the submission was copied"
        left = size
        with open(dest, "wb") as out:
            while left > 0:
                chunk = fh.read(min(1 << 20, left))
                if not chunk:
                    break
                out.write(chunk)
                left -= len(chunk)
    return None


def write_left_out(dest, left_out):
    """Record in submitted/ what the copy left out (a dot-file: nbgrader copies no dot-file)."""
    if left_out:
        with open(os.path.join(dest, LEFT_OUT), "w") as fh:
            json.dump(summarize(left_out), fh)


def read_left_out(submission, limit=64 * 1024):
    """The notes `write_left_out` left in a submission (a student's own file of that name is at worst text)."""
    path = os.path.join(submission, LEFT_OUT)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return []
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            return []
        try:
            notes = json.loads(fh.read(limit).decode("utf-8", "replace"))
        except ValueError:
            return []
    return [str(n)[:500] for n in notes][:20] if isinstance(notes, list) else []


def count_cells(path, limit):
    """The number of cells of a notebook file, read whole only when it is at most `limit` bytes; None if unreadable."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            return None
        try:
            nb = json.loads(fh.read(limit + 1))
        except (ValueError, UnicodeDecodeError):
            return None
    cells = nb.get("cells") if isinstance(nb, dict) else None
    if cells is None and isinstance(nb, dict):   # nbformat 3: cells inside worksheets
        cells = [c for ws in nb.get("worksheets") or [] if isinstance(ws, dict) for c in ws.get("cells") or []]
    return len(cells) if isinstance(cells, list) else None


def bound_submission(submission, limits, log=print):
    """Move aside (never copy, never read) what of a submission in submitted/ is over the limits.

    For a submission put in submitted/ by any means (the service and collect already copy
    only what is within them). Returns (notes for the student and the instructor,
    {notebook name: why} of the notebooks set aside: they get a placeholder).
    """
    keep, left_out = survey(submission, limits, ignore=(SET_ASIDE,))
    if "..." in left_out:   # the walk stopped early: every file not kept goes
        kept = {rel for rel, _, _ in keep}
        for dirpath, dirnames, filenames in os.walk(submission):
            if os.path.relpath(dirpath, submission).split(os.sep)[0] == SET_ASIDE:
                dirnames[:] = []
                continue
            dirnames[:] = [d for d in dirnames if not (dirpath == submission and d == SET_ASIDE)]
            for name in filenames:
                rel = os.path.relpath(os.path.join(dirpath, name), submission)
                if rel not in kept and rel != LEFT_OUT and rel not in left_out:
                    left_out[rel] = left_out["..."]
    notebooks = {}
    for rel, why in left_out.items():
        if rel == "...":
            continue
        path = os.path.join(submission, rel)
        if not os.path.lexists(path):
            continue
        _set_aside(path, submission, lambda m: None)
        if rel.endswith(".ipynb") and os.sep not in rel:
            notebooks[rel] = why
    earlier = read_left_out(submission)   # the copy's, or an earlier grading's (what was moved aside then)
    notes = earlier + [n for n in summarize(left_out) if n not in earlier]
    for note in notes[len(earlier):]:
        log(f"{submission}: {note}")
    for rel, _, _ in keep:
        if not (rel.endswith(".ipynb") and os.sep not in rel):
            continue
        cells = count_cells(os.path.join(submission, rel), limits.notebook_bytes)
        if cells is not None and cells > limits.notebook_cells:
            why = (f"{LIMITS_NOTE}: the notebook {rel} has {cells} cells, over the limit of "
                   f"{limits.notebook_cells} (SandboxLimits.notebook_cells); not graded")
            _set_aside(os.path.join(submission, rel), submission, lambda m: None)
            notebooks[rel] = why
            notes.append(why)
            log(f"{submission}: {why}")
    if notes != earlier:   # kept for the next grading of this submission, which finds them moved aside
        fd = os.open(os.path.join(submission, LEFT_OUT), os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "w") as fh:
            json.dump(notes, fh)
    return notes, notebooks
