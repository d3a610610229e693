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


def kernel_time(folder):
    """The latest change time (ctime) of the folder and everything in it, as an aware UTC datetime.

    The kernel sets a ctime on every write, rename, chmod or link, and no account can set
    one back (touch sets mtime/atime only): a submission's files cannot look older than
    they are, whatever its folder name or timestamp.txt say.
    """
    latest = os.lstat(folder).st_ctime
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
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
