"""Grade a class on Dask: every core of this machine, or an existing Dask cluster.

    python -m mle_grading.operations.parallel [ASSIGNMENT ...] [--workers W | --scheduler tls://HOST:PORT] [--force]
    python -m mle_grading.operations.parallel --dask-environment
    python -m mle_grading.operations.parallel --make-credentials FOLDER

Run it from the course root (where nbgrader_config.py is). Without an assignment it
grades every assignment of the course that has a source/ folder. It shows a progress
bar (students done, failures, rate, time left) and the Dask dashboard's address,
then prints one line per student who could not be graded and exits 1 if there was
any (0 if everyone was graded), and one line (OVER LIMITS) per part of a submission
left out for being over its limits (SandboxLimits.submission_bytes, ...; the rest of
it graded). Everything nbgrader said is in
reports/parallel_autograde.log; one JSON line per student in reports/parallel_grading.json.

How it works
------------
Without --scheduler, a local Dask cluster of W worker processes (default: one per
core) is started on 127.0.0.1 for the run; with --scheduler, the tasks go to that
cluster's workers, which must see the course directory at the same path (a shared
file system) and the same gradebook (PostgreSQL past one machine).

Who may use the cluster
-----------------------
A Dask client runs any code on the workers, as the account they run as (root, for
a grading cluster that starts bubblewrap sandboxes), and every student has an
account on the grading machine on The Littlest JupyterHub. So the cluster speaks
only TLS with certificates (Dask's `distributed.security.Security`, mutual TLS:
every connection must present a certificate the cluster's CA signed). The local
cluster makes a new key and certificate in memory for each run (`Security.temporary`;
never written to disk). A `--scheduler` must be a tls:// address, and the
instructor's credential is given with --tls-ca-file/--tls-cert/--tls-key (or
MLE_GRADING_TLS_CA_FILE/_CERT/_KEY, or Dask's `distributed.comm.tls.*` configuration);
`--make-credentials FOLDER` writes one (a 0700 folder, the key 0600). A tcp://
address is refused unless the instructor passes --insecure-scheduler (docs/scale.md
says what that opens).

One task grades one student's assignment. Each worker process keeps nbgrader's
AutogradeApp, loaded once with course_config.py (and with it torch and the checks),
and grades a student with nbgrader's own Autograde converter, `force` on
(`mle_grading.nbgrader_integration.run.WarmAutograder`): the sandbox, the trusted checks and the
rebuilt submissions apply exactly as for `nbgrader autograde`. Grading a student again
replaces that student's submission in the gradebook (one row per assignment and
student), so a task is idempotent: when a worker dies mid-task, Dask runs its tasks
again elsewhere, and each student still ends graded exactly once. A student that
cannot be graded is a result, not an exception: one report line, never a stopped run.

Without --force, students whose autograded/ folder already holds their current
submission are left as they are (as `nbgrader autograde` does).
"""
import argparse
import contextlib
import dataclasses
import json
import logging
import os
import sys
import time

from mle_grading.nbgrader_integration import run as nbgrader_run

LOG_NAME = "parallel_autograde.log"
SUMMARY_NAME = "parallel_grading.json"

# One warm autograder per worker process (and per course and gradebook).
_WARM = {}


def grade_student(course_root, assignment, student, db_url, feedback=False):
    """The Dask task: grade one student's assignment in this worker's warm autograder, then, with
    `feedback`, write that student's feedback pages in the same worker (warm too), so the class's
    feedback is made where and while it is graded, not afterwards one student at a time."""
    started = time.perf_counter()
    key = (os.path.abspath(course_root), db_url)
    warmup = 0.0
    try:
        if key not in _WARM:
            _WARM.clear()
            _WARM[key] = nbgrader_run.WarmAutograder(course_root, db_url)
            warmup = _WARM[key].startup_seconds
        result = dataclasses.asdict(_WARM[key].grade(assignment, student))
    except Exception as exc:  # noqa: BLE001  (no course here, no gradebook: this student's line)
        result = dataclasses.asdict(nbgrader_run.Graded(assignment, student, graded=False,
                                                        why=f"{type(exc).__name__}: {exc}"))
    result["worker"] = _worker_name()
    result["timings"]["warmup"] = warmup
    if feedback:
        result.update(feedback_for(course_root, assignment, student, db_url) if result["graded"]
                      else {"feedback": False, "feedback_why": "not graded, so no feedback"})
    result["timings"]["task"] = time.perf_counter() - started
    return result


_WARM_FEEDBACK = {}


def feedback_for(course_root, assignment, student, db_url):
    """One student's feedback pages, by this worker's warm feedback generator."""
    started = time.perf_counter()
    key = (os.path.abspath(course_root), db_url)
    try:
        if key not in _WARM_FEEDBACK:
            _WARM_FEEDBACK.clear()
            _WARM_FEEDBACK[key] = nbgrader_run.WarmFeedback(course_root, db_url)
        written, why, log = _WARM_FEEDBACK[key].generate(assignment, student)
    except Exception as exc:  # noqa: BLE001  (reported on the student's line, never raised)
        written, why, log = False, f"{type(exc).__name__}: {exc}", ""
    return {"feedback": written, "feedback_why": why, "feedback_log": log,
            "feedback_seconds": time.perf_counter() - started}


def warm_up(course_root, db_url):
    """Load nbgrader's autograder and feedback generator (with torch and the checks) in this worker
    now, so that a long-running service's first submissions do not wait for the imports."""
    key = (os.path.abspath(course_root), db_url)
    if key not in _WARM:
        _WARM.clear()
        _WARM[key] = nbgrader_run.WarmAutograder(course_root, db_url)
    if key not in _WARM_FEEDBACK:
        _WARM_FEEDBACK.clear()
        _WARM_FEEDBACK[key] = nbgrader_run.WarmFeedback(course_root, db_url)
    return _worker_name()


def _worker_name():
    try:
        from distributed import get_worker
        worker = get_worker()
        return str(worker.name if worker.name is not None else worker.address)
    except ValueError:   # not in a worker (called directly)
        return f"pid {os.getpid()}"


# Dask's housekeeping, set for a grading cluster. Measured on 2 cores (27 students, default
# against these): the workers' event loops 0.16-0.23 -> 0.014-0.017 s of CPU per student, the
# scheduler's and nannies' process 0.09-0.12 -> 0.02-0.025. Clusters started by hand get them
# from `--dask-environment` (docs/scale.md).
GRADING_CLUSTER_CONFIG = {
    # The statistical profiler samples the task's thread 100 times a second; a grading
    # task's thread spends its time waiting for its sandbox, another process, so the
    # profile would only show the wait.
    "distributed.worker.profile.enabled": False,
    # Memory is checked ten times a second by each worker and its nanny; a grading process
    # changes slowly (its sandboxes have their own memory limit), once a second is enough.
    "distributed.worker.memory.monitor-interval": "1s",
    # The dashboard's CPU, memory and network plots, refreshed every 2 s instead of 0.5 s.
    "distributed.admin.system-monitor.interval": "2s",
    # The event-loop health check (a warning when a loop is blocked for 3 s), 5 times a
    # second instead of 50.
    "distributed.admin.tick.interval": "200ms",
}


def dask_environment():
    """`GRADING_CLUSTER_CONFIG` as the environment variables Dask reads, for clusters started by hand."""
    return {"DASK_" + key.upper().replace(".", "__").replace("-", "_"): str(value)
            for key, value in GRADING_CLUSTER_CONFIG.items()}


class ClusterSecurityError(ValueError):
    """A scheduler address or credential the grader will not use; the message is one line."""


TLS_ENVIRONMENT = {"ca": "MLE_GRADING_TLS_CA_FILE", "cert": "MLE_GRADING_TLS_CERT", "key": "MLE_GRADING_TLS_KEY"}


def _readable_by_others(path):
    return bool(os.stat(path).st_mode & 0o077)


def scheduler_security(scheduler, ca_file=None, cert=None, key=None, insecure=False):
    """The `Security` to reach `scheduler` with, or None for an insecure scheduler allowed by name.

    The credential: the files given, else MLE_GRADING_TLS_* variables, else Dask's own
    `distributed.comm.tls.ca-file` / `client.cert` / `client.key` configuration.
    """
    from distributed.security import Security
    if not scheduler.startswith("tls://"):
        if insecure:
            return None
        raise ClusterSecurityError(
            f"refusing the scheduler {scheduler}: not a tls:// address, and anyone who can reach an "
            "unauthenticated Dask scheduler runs code on its workers; give a tls:// address and the "
            "instructor's credential (--tls-ca-file, --tls-cert, --tls-key), or --insecure-scheduler "
            "(docs/scale.md)")
    ca_file = ca_file or os.environ.get(TLS_ENVIRONMENT["ca"])
    cert = cert or os.environ.get(TLS_ENVIRONMENT["cert"])
    key = key or os.environ.get(TLS_ENVIRONMENT["key"])
    given = {k: v for k, v in (("tls_ca_file", ca_file), ("tls_client_cert", cert), ("tls_client_key", key)) if v}
    security = Security(require_encryption=True, **given)
    missing = [flag for flag, value in (("--tls-ca-file", security.tls_ca_file), ("--tls-cert", security.tls_client_cert))
               if not value]
    if missing:
        raise ClusterSecurityError(f"the tls:// scheduler {scheduler} needs the instructor's credential: "
                                   f"{' and '.join(missing)} (or {TLS_ENVIRONMENT['ca']}, {TLS_ENVIRONMENT['cert']}, "
                                   f"{TLS_ENVIRONMENT['key']}, or Dask's distributed.comm.tls configuration)")
    for path in (security.tls_ca_file, security.tls_client_cert, security.tls_client_key):
        if path and not os.path.isfile(path):
            raise ClusterSecurityError(f"no such credential file: {path}")
    private = security.tls_client_key or security.tls_client_cert   # a key may sit in the certificate's file
    if _readable_by_others(private):
        raise ClusterSecurityError(f"the key {private} can be read by other accounts: anyone who reads it runs code "
                                   f"on the grading cluster; chmod 600 it (and get a new one)")
    return security


def make_credentials(folder):
    """Write a new key and self-signed certificate for a grading cluster into `folder` (0700, key 0600).

    The certificate is its own CA, as Dask's `Security.temporary`: every party that holds
    the key (scheduler, workers, the grader) is the cluster; nobody else can connect.
    Returns {"ca": path, "cert": path, "key": path}.
    """
    from distributed.security import Security
    temporary = Security.temporary()
    os.makedirs(folder, mode=0o700, exist_ok=True)
    os.chmod(folder, 0o700)
    paths = {"ca": os.path.join(folder, "grading-cluster.pem"), "key": os.path.join(folder, "grading-cluster.key")}
    paths["cert"] = paths["ca"]
    for path, text, mode in ((paths["key"], temporary.tls_client_key, 0o600),
                             (paths["ca"], temporary.tls_client_cert, 0o644)):
        fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)   # never readable by others
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.chmod(path + ".tmp", mode)
        os.replace(path + ".tmp", path)
    return paths


@contextlib.contextmanager
def dask_client(scheduler=None, workers=None, security=None):
    """A Dask client: to the scheduler at `scheduler`, or to a local cluster started for the run.

    `security` is what `scheduler_security` returned for `scheduler` (None: no TLS, only for a
    scheduler the instructor allowed with --insecure-scheduler).
    The local cluster has one single-threaded worker process per core (or `workers`): one
    student at a time per process, since each grading process sandboxes one notebook at a time.
    Its scheduler, nannies and workers run with `GRADING_CLUSTER_CONFIG` and speak only TLS
    with a key and certificate made for the run (nobody else can connect).
    """
    import dask
    from distributed import Client, LocalCluster
    from distributed.security import Security
    if scheduler:
        with Client(scheduler, timeout="30s", security=security) as client:
            yield client
        return
    workers = workers or os.cpu_count() or 1
    # A worker busy in a sandbox when the cluster closes is killed after a grace period: say nothing.
    logging.getLogger("distributed.nanny").setLevel(logging.ERROR)
    # The nannies hand the configuration set here to the worker processes they start.
    with dask.config.set(GRADING_CLUSTER_CONFIG), \
            LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                         protocol="tls://", security=Security.temporary(),
                         dashboard_address="127.0.0.1:8787") as cluster, Client(cluster) as client:
        yield client


def dashboard_address(client):
    try:
        return client.dashboard_link
    except Exception:  # noqa: BLE001  (no dashboard: bokeh is missing there)
        return None


def students_to_grade(course_root, assignment, db_url, students=None, force=False):
    """(to grade, skipped as already graded, {student: why not gradable})."""
    everyone = nbgrader_run.submitted_students(course_root, assignment)
    wanted = everyone if students is None else list(students)
    missing = {s: f"no submission in submitted/{s}/{assignment}/" for s in wanted if s not in everyone}
    todo = [s for s in wanted if s not in missing]
    skipped = []
    if not force:
        notebooks = nbgrader_run.gradebook_notebooks(db_url, assignment)
        skipped = [s for s in todo if nbgrader_run.is_autograded(course_root, assignment, s, notebooks)]
        todo = [s for s in todo if s not in skipped]
    return todo, skipped, missing


def grade_class(course_root, assignments, client, students=None, force=False, db_url=None,
                log_path=None, progress=True, feedback=False):
    """Grade every student of each assignment on the client's cluster; returns one dict per student.

    students: {assignment: [students]} to grade only those (default: everyone in submitted/).
    Each result has "graded" (bool) and, when not graded, "why"; with `feedback`, also
    "feedback" (bool) and, when no feedback was written, "feedback_why".
    """
    from distributed import as_completed
    from tqdm import tqdm
    course_root = os.path.abspath(course_root)
    db_url = nbgrader_run.gradebook_url(course_root, db_url)
    results, futures, tasks = [], [], {}
    for assignment in assignments:
        nbgrader_run.gradebook_notebooks(db_url, assignment)   # a clear error if it was never generated
        todo, skipped, missing = students_to_grade(course_root, assignment, db_url,
                                                   (students or {}).get(assignment), force)
        for student, why in missing.items():
            results.append(_not_graded(assignment, student, why))
        for student in skipped:
            results.append(dict(_not_graded(assignment, student, ""), graded=True, skipped=True))
        for student in todo:
            # One named task per student: Dask never runs two of the same key at once.
            key = f"grade-{assignment}-{student}"
            tasks[key] = (assignment, student)
            futures.append(client.submit(grade_student, course_root, assignment, student, db_url, feedback,
                                         key=key))
    bar = tqdm(total=len(futures), unit="student", desc="grading and feedback" if feedback else "grading", disable=not progress or not futures,
               file=sys.stderr, dynamic_ncols=True, smoothing=0.1)
    failures = 0
    with bar:
        for future in as_completed(futures):
            assignment, student = tasks[future.key]
            try:
                result = future.result()
            except Exception as exc:  # noqa: BLE001  (e.g. KilledWorker: it took every worker it ran on)
                result = _not_graded(assignment, student, f"its task failed on the cluster: {type(exc).__name__}: {exc}")
            results.append(result)
            if not result["graded"] or (feedback and not result.get("feedback")):
                failures += 1
                bar.set_postfix(failed=failures)
            bar.update(1)
            if log_path:
                _log(log_path, result)
    order = {(a, s): i for i, (a, s) in enumerate((a, s) for a in assignments
                                                  for s in nbgrader_run.submitted_students(course_root, a))}
    return sorted(results, key=lambda r: (order.get((r["assignment"], r["student"]), len(order)), r["student"]))


def _not_graded(assignment, student, why):
    return dict(dataclasses.asdict(nbgrader_run.Graded(assignment, student, graded=False, why=why)),
                worker=None)


def _log(log_path, result):
    with open(log_path, "a") as fh:
        state = "graded" if result["graded"] else f"NOT GRADED: {result['why']}"
        fh.write(f"[{result['worker']}] {result['assignment']}/{result['student']}: {state}\n")
        for line in (result.get("log", "") + result.get("feedback_log", "")).splitlines():
            fh.write(f"[{result['worker']}] {line}\n")


def failure_lines(results):
    """One line per student who was not graded, or was graded but got no feedback."""
    lines = []
    for r in results:
        if not r["graded"]:
            lines.append(f"{r['assignment']}/{r['student']}: {r['why']}")
        elif r.get("feedback") is False:
            lines.append(f"{r['assignment']}/{r['student']}: graded, but no feedback: {r['feedback_why']}")
    return lines


def limit_lines(results):
    """One line per note of a submission over its limits (SandboxLimits): graded, but not all of it."""
    from mle_grading.nbgrader_integration.submission_files import LIMITS_NOTE
    return [f"{r['assignment']}/{r['student']}/{problem}" for r in results
            for problem in r.get("problems", []) if LIMITS_NOTE in problem]


def add_security_arguments(parser):
    group = parser.add_argument_group("the credential for --scheduler (mutual TLS)")
    group.add_argument("--tls-ca-file", help=f"the cluster's CA certificate (or {TLS_ENVIRONMENT['ca']})")
    group.add_argument("--tls-cert", help=f"the instructor's certificate (or {TLS_ENVIRONMENT['cert']})")
    group.add_argument("--tls-key", help=f"the instructor's private key (or {TLS_ENVIRONMENT['key']})")
    group.add_argument("--insecure-scheduler", action="store_true",
                       help="accept a tcp:// scheduler: whoever reaches it runs code on its workers (docs/scale.md)")


def security_from_arguments(parser, args):
    """The Security for args.scheduler (None without one), or a one-line parser error."""
    if not args.scheduler:
        return None
    try:
        return scheduler_security(args.scheduler, args.tls_ca_file, args.tls_cert, args.tls_key,
                                  args.insecure_scheduler)
    except ClusterSecurityError as exc:
        parser.error(str(exc))


def main(argv=None):
    parser = argparse.ArgumentParser(description="Grade a class with nbgrader autograde on Dask "
                                                 "(every core here, or an existing Dask cluster).")
    parser.add_argument("assignments", nargs="*",
                        help="assignment ids (default: every assignment of the course with a source/ folder)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=None,
                       help="worker processes of the local cluster (default: one per core)")
    where.add_argument("--scheduler", default=None, metavar="tls://HOST:PORT",
                       help="send the work to this Dask scheduler instead of a local cluster")
    add_security_arguments(parser)
    parser.add_argument("--make-credentials", metavar="FOLDER",
                        help="write a new key and certificate for a grading cluster into FOLDER and exit")
    parser.add_argument("--force", action="store_true", help="regrade students already graded")
    parser.add_argument("--feedback", action="store_true",
                        help="also write each graded student's feedback pages, in the same worker (warm)")
    parser.add_argument("--course-root", default=".", help="the course directory (default: here)")
    parser.add_argument("--dask-environment", action="store_true",
                        help="print the Dask settings of a grading cluster as shell exports (for the "
                             "scheduler and workers of a cluster started by hand) and exit")
    args = parser.parse_args(argv)
    if args.dask_environment:
        print("\n".join(f"export {name}={value}" for name, value in dask_environment().items()))
        return 0
    if args.make_credentials:
        paths = make_credentials(args.make_credentials)
        print(f"key: {paths['key']} (only this account can read it)\ncertificate and CA: {paths['cert']}")
        return 0
    if args.workers is not None and args.workers < 1:
        parser.error("--workers must be at least 1")
    security = security_from_arguments(parser, args)
    root = os.path.abspath(args.course_root)
    if not os.path.isfile(os.path.join(root, "nbgrader_config.py")):
        parser.error(f"{root} is not a course directory (no nbgrader_config.py); run from the course root")
    assignments = args.assignments or nbgrader_run.course_assignments(root)
    if not assignments:
        parser.error("no assignment given, and the course has no source/<assignment>/ folder")
    os.environ.update(nbgrader_run.environment())   # local workers inherit it (alembic on PATH)
    reports = os.path.join(root, "reports")
    os.makedirs(reports, exist_ok=True)
    log_path = os.path.join(reports, LOG_NAME)
    open(log_path, "w").close()
    db_url = nbgrader_run.gradebook_url(root)
    started = time.time()
    try:
        with dask_client(args.scheduler, args.workers, security) as client:
            workers = len(client.scheduler_info(n_workers=-1)["workers"])
            print(f"grading {', '.join(assignments)} on {workers} Dask workers "
                  f"({args.scheduler or 'local cluster'}; gradebook {nbgrader_run.redact(db_url)})", flush=True)
            link = dashboard_address(client)
            print(f"Dask dashboard: {link}" if link else "Dask dashboard: not available (bokeh is not installed)",
                  flush=True)
            results = grade_class(root, assignments, client, force=args.force, db_url=db_url, log_path=log_path,
                                  feedback=args.feedback)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: the cluster was stopped", file=sys.stderr)
        return 130
    with open(os.path.join(reports, SUMMARY_NAME), "w") as fh:
        for r in results:
            fh.write(json.dumps({k: v for k, v in r.items() if k not in ("log", "feedback_log")}) + "\n")
    graded = sum(r["graded"] for r in results)
    failed = len(failure_lines(results))
    skipped = sum(bool(r.get("skipped")) for r in results)
    print(f"graded {graded}/{len(results)} in {time.time() - started:.0f} s"
          + (f" ({skipped} already graded, left as they were; --force regrades them)" if skipped else ""),
          flush=True)
    for line in failure_lines(results):
        print(f"FAILED {line}", flush=True)
    for line in limit_lines(results):
        print(f"OVER LIMITS {line}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
