"""nbgrader's collect, made safe for an exchange that every student can write to.

`CourseExchangeCollect` replaces nbgrader's default `ExchangeCollect`
(course_config.py: `c.ExchangeFactory.collect`). nbgrader's own collect copies a
student's inbound folder with `shutil.copytree`, which follows symbolic links with
the instructor's rights, takes a folder owned by someone else than the student it
is named for with a warning, and believes the timestamp the student wrote. Here:

- **Owner.** With `CollectApp.check_owner` (nbgrader's default, True), a folder
  `alice+mle_losses+...` that is not owned by alice's unix account is refused
  (logged as an error and never collected), so nobody can pose as the later
  submission of another student. A student with no unix account is refused too.
  The account is `unix_account` with the student id filled in: `{username}` (the
  default), `jupyter-{username}` on The Littlest JupyterHub.
- **Refusals show in the exit status.** Everything acceptable is collected; then,
  if anything was refused or left out, collect fails through nbgrader's own
  `Exchange.fail`, so `nbgrader collect` exits non-zero (each refusal logged above).
- **Only files.** Only regular files with one name (no hard link), owned by the
  student, are copied, each opened without following links (`O_NOFOLLOW`) and
  checked again on the open descriptor; links, FIFOs and devices are skipped and
  logged. Folders are entered only when they are real folders.
- **The course folder is the instructor's.** Release, feedback release and
  collect refuse an exchange course folder (or its inbound, outbound, feedback
  folders) that is a link or is owned by anyone but the instructor running the
  command (or root): a student who made `exchange/<course>/` first would
  otherwise read every submission or hand out their own "release".
- **Time.** The submission time is the kernel's: the time the folder and its
  files were last changed (the latest ctime in the folder, which no user can set
  back), never the one the student's nbgrader wrote (folder name and timestamp.txt,
  both the student's to write). What the student claimed is kept in
  timestamp_claimed.txt, and logged when it differs from the kernel's by more than
  `timestamp_tolerance` seconds. That time chooses the latest submission, decides
  late penalties, and is what timestamp.txt in submitted/ says.
"""
import datetime
import fnmatch
import os
import stat

from traitlets import Float, TraitError, Unicode, validate

from nbgrader.exchange.default.collect import ExchangeCollect
from nbgrader.exchange.default.release_assignment import ExchangeReleaseAssignment
from nbgrader.exchange.default.release_feedback import ExchangeReleaseFeedback
from nbgrader.utils import parse_utc

from mle_grading.nbgrader_integration.submission_files import (copy_file_bounded, kernel_time, summarize, survey,
                                                               write_left_out)

try:
    import pwd
except ImportError:  # Windows, where nbgrader's exchange does not run anyway
    pwd = None


def _as_utc(moment):
    if moment.tzinfo is None:
        return moment.replace(tzinfo=datetime.timezone.utc)
    return moment.astimezone(datetime.timezone.utc)


def refuse_foreign_course_folder(exchange):
    """Fail unless the exchange's course folders that exist are real folders of the instructor's."""
    course_path = os.path.join(exchange.root, exchange.coursedir.course_id)
    for path in (course_path, *(os.path.join(course_path, n) for n in ("inbound", "outbound", "feedback"))):
        if not os.path.lexists(path):
            continue
        info = os.lstat(path)
        if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
            exchange.fail(f"{path} is not a folder (a link?): refusing to use it; remove it and release again")
        if info.st_uid not in (os.geteuid(), 0):
            exchange.fail(f"{path} is owned by uid {info.st_uid}, not by the instructor (uid {os.geteuid()}): "
                          "someone else created it; refusing to use it (see docs/exchange.md)")


class CourseExchangeReleaseAssignment(ExchangeReleaseAssignment):
    def init_dest(self):
        refuse_foreign_course_folder(self)
        super().init_dest()


class CourseExchangeReleaseFeedback(ExchangeReleaseFeedback):
    def init_dest(self):
        refuse_foreign_course_folder(self)
        super().init_dest()


class CourseExchangeCollect(ExchangeCollect):
    timestamp_tolerance = Float(
        300.0, help="Seconds a submission's own timestamp may differ from the kernel's time of its files "
                    "before the difference is logged (the kernel's time is used in any case).").tag(config=True)

    unix_account = Unicode(
        "{username}", help="The unix account that owns a student's submissions, from their student id "
                           "(nbgrader's, the hub user name): '{username}', or 'jupyter-{username}' on The "
                           "Littlest JupyterHub.").tag(config=True)

    @validate("unix_account")
    def _one_username_field(self, proposal):
        try:
            proposal.value.format(username="x")
        except (KeyError, IndexError, ValueError) as exc:
            raise TraitError(f"CourseExchangeCollect.unix_account = {proposal.value!r} must name only "
                             f"{{username}} ({type(exc).__name__}: {exc})") from None
        return proposal.value

    def _owner_uid(self, username):
        try:
            return pwd.getpwnam(self.unix_account.format(username=username)).pw_uid
        except KeyError:
            return None

    def _refuse(self, message, *args):
        self.log.error(message, *args)
        self.refused = getattr(self, "refused", 0) + 1

    def copy_files(self):
        super().copy_files()
        refused = getattr(self, "refused", 0)
        if refused:   # nbgrader's CollectApp turns this into a non-zero exit status
            self.fail(f"{refused} submission folder(s) or file(s) were refused and not collected (each is "
                      "logged above); everything else was collected")

    def init_src(self):
        refuse_foreign_course_folder(self)
        super().init_src()
        # Keep, per student, only folders they own; re-pick the latest by the trusted time.
        pattern_records = []
        for rec in self._all_records():
            path = os.path.join(self.inbound_path, rec["filename"])
            if self.check_owner and pwd is not None:
                info = os.lstat(path)
                uid = self._owner_uid(rec["username"])
                if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
                    self._refuse("%s is not a folder (a link?): refused", path)
                    continue
                account = self.unix_account.format(username=rec["username"])
                if uid is None or info.st_uid != uid:
                    self._refuse("%s claims to be submitted by %s (unix account %s%s) but is owned by uid %s: "
                                 "refused, not collected", path, rec["username"], account,
                                 "" if uid is not None else ", which does not exist", info.st_uid)
                    continue
            rec["claimed"] = rec["timestamp"]
            rec["timestamp"] = self._trusted_time(path, rec["timestamp"])
            pattern_records.append(rec)
        by_user = {}
        for rec in pattern_records:
            by_user.setdefault(rec["username"], []).append(rec)
        self.src_records = []
        for records in by_user.values():
            records = sorted(records, key=lambda r: r["timestamp"], reverse=True)   # the latest first
            if self.duedate is not None and self.before_duedate:
                due = _as_utc(self.duedate)
                before = [r for r in records if _as_utc(r["timestamp"]) <= due]
                records = before or records
            self.src_records.append(records[0])

    def _all_records(self):
        import glob
        student_id = self.coursedir.student_id if self.coursedir.student_id else "*"
        pattern = os.path.join(self.inbound_path, f"{student_id}+{self.coursedir.assignment_id}+*")
        return [self._record_of(f) for f in glob.glob(pattern)]

    def _record_of(self, path):
        """{username, filename, timestamp} of an inbound folder <student>+<assignment>+<timestamp>[+<random>],
        read as nbgrader's collect reads it (a username may hold '+')."""
        filename = os.path.basename(path)
        parts = filename.rsplit("+", 3)
        if len(parts) < 3:
            self.fail(f"Invalid filename: {filename}")
        return {"username": parts[0], "filename": filename, "timestamp": parse_utc(parts[2])}

    def _limits(self):
        from mle_grading.sandbox.runner import SandboxLimits
        return SandboxLimits(config=self.config)

    def _trusted_time(self, path, claimed):
        """The kernel's time of the submission; the student's claim is never used, only compared."""
        observed = kernel_time(path, 8 * self._limits().submission_file_count + 100)
        if abs((_as_utc(claimed) - observed).total_seconds()) > self.timestamp_tolerance:
            self.log.warning("%s: the submission says %s but its files were last changed at %s; using the latter",
                             path, claimed, observed)
        return observed.replace(tzinfo=None) if claimed.tzinfo is None else observed

    def do_copy(self, src, dest, log=None):
        """Copy regular files only, never following a link, within SandboxLimits and nbgrader's size limits.

        What to copy is decided by lstat before anything is opened (submission_files.survey):
        a sparse file counts at its apparent size, and past the file count the walk stops.
        """
        rec = next((r for r in self.src_records if os.path.join(self.inbound_path, r["filename"]) == src), None)
        uid = self._owner_uid(rec["username"]) if rec and self.check_owner and pwd is not None else None
        max_file = 1000 * self.coursedir.max_file_size if self.coursedir.max_file_size else None
        total, max_total = 0, 1000 * self.coursedir.max_dir_size
        keep, left_out = survey(src, self._limits(), ignore=self.coursedir.ignore)
        for rel, why in left_out.items():
            self.log.warning("Not collected: %s (%s)", os.path.join(src, rel), why)
        os.makedirs(dest)
        for rel, size, ident in keep:
            if os.path.basename(rel) in ("timestamp.txt", "timestamp_claimed.txt") or \
                    any(self._ignored(part) for part in rel.split(os.sep)):
                continue
            path = os.path.join(src, rel)
            why = None
            if uid is not None and os.lstat(path).st_uid != uid:
                why = f"owned by uid {os.lstat(path).st_uid}, not by the student"
                self._refuse("Not collected: %s (%s)", path, why)
                left_out[rel] = f"the file {rel} was not collected: {why}"
                continue
            elif max_file and size > max_file:
                why = "too large (CourseDirectory.max_file_size)"
            elif total + size > max_total:
                why = "over the submission's size limit (CourseDirectory.max_dir_size)"
            if not why:
                target = os.path.join(dest, rel)
                os.makedirs(os.path.dirname(target), exist_ok=True)
                why = copy_file_bounded(path, target, size, ident)
            if why:
                self.log.warning("Not collected: %s (%s)", path, why)
                left_out[rel] = f"the file {rel} was not collected: {why}"
                continue
            total += size
        write_left_out(dest, left_out)
        if rec is not None:
            with open(os.path.join(dest, "timestamp.txt"), "w") as fh:
                # nbgrader's own format (what its submit writes): UTC, named.
                fh.write(_as_utc(rec["timestamp"]).strftime("%Y-%m-%d %H:%M:%S.%f") + " UTC")
            if rec["timestamp"] != rec["claimed"]:
                with open(os.path.join(dest, "timestamp_claimed.txt"), "w") as fh:
                    fh.write(str(rec["claimed"]))

    def _ignored(self, name):
        return any(fnmatch.fnmatch(name, pattern) for pattern in self.coursedir.ignore)
