"""Run several nbgrader commands in one Python process, each as a different user.

    python tests/nbgrader_steps.py steps.json

steps.json: [{"cwd": ..., "home": ..., "args": ["submit", "mle_losses", ...]}, ...]

Each step runs `nbgrader <args>` exactly as the command line does (a fresh
NbGraderApp, configuration read from the step's HOME and working directory), with
HOME and the working directory set for that step; nbgrader's own test-suite runs
its commands the same way. Starting nbgrader costs seconds of imports, so running
a phase of a workflow in one process keeps the exchange test quick.

Prints one JSON list: [{"args": [...], "code": 0, "log": "..."}], stopping after
the first step that fails.
"""
import io
import json
import logging
import os
import sys


def run_step(step):
    from jupyter_core.application import NoStart
    from nbgrader.apps.nbgraderapp import NbGraderApp
    os.environ["HOME"] = step["home"]
    os.chdir(step["cwd"])
    buf = io.StringIO()
    app = NbGraderApp.instance()
    code = 0
    try:
        app.initialize(step["args"])
        app.init_logging(logging.StreamHandler, [buf], color=False, subapps=True)
        app.start()
    except NoStart:  # how jupyter applications end when there is nothing more to start
        pass
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except Exception as exc:  # noqa: BLE001  (reported, not raised)
        buf.write(f"\n{type(exc).__name__}: {exc}\n")
        code = 1
    finally:
        app.reset()
    return {"args": step["args"], "code": code, "log": buf.getvalue()}


def main(path):
    results = []
    for step in json.load(open(path)):
        results.append(run_step(step))
        if results[-1]["code"] != 0:
            break
    sys.stdout.write("\n" + json.dumps(results))


if __name__ == "__main__":
    main(sys.argv[1])
