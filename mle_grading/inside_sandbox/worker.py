"""The sandboxed side: runs a submission's cells, then answers calls as plain data.

This file runs inside the sandbox, as an unprivileged user with no network, beside
`wire.py` and nothing else of the grading library. Everything here is in reach of
student code, so nothing here is trusted: the parent decodes and judges all it says.

Protocol, one JSON message a line. The parent first sends
  {"cells": [source, ...], "skip": [index, ...]}
and the worker answers {"event": "cell_start", "index": i} before and
{"event": "cell_done", ...} after each cell, then {"event": "ready"}. After that
each request {"id", "function" | "variable", "args", "kwargs", "return_args",
"trusted_inner"} gets one reply {"id", "outcome": {...}}. `trusted_inner` names
student functions that the called one may build on (log_softmax inside
categorical_nll): for that one call they are bound to the plain implementations of
mle_grading.inside_sandbox.trusted_inner (sent as source with the call), so that a mistake in the inner function is not charged again to the
outer one. The parent still judges every result; a submission that tampers with
the table can only make its own outer function look wrong.
"""
import io
import os
import sys

if __name__ == "__main__":
    # Run with python -I, which leaves this folder off sys.path: wire.py lies beside us.
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

PROTOCOL_OUT = None
CAPTURE_LIMIT = 20_000

import numpy as np  # noqa: E402  (after the globals, before student code)

try:
    from mle_grading.inside_sandbox import wire  # imported in-process, by the checks' own transport
except ImportError:
    import wire  # noqa: E402  (in the sandbox, where the grading library is absent)


# Scalar functions a check may pass as an argument (numerical_grad's `f`): one table,
# in wire.py, so that this side and the trusted side agree on them.
CALLABLES = wire.CALLABLES


# The binding of trusted inner functions lives in wire.py (`call_with_trusted_inner`);
# the functions themselves arrive, as source, with the one call that needs them.
call_with_trusted_inner = wire.call_with_trusted_inner


class _CappedText(io.TextIOBase):
    def __init__(self):
        self.parts, self.size = [], 0

    def writable(self):
        return True

    def write(self, text):
        if self.size < CAPTURE_LIMIT:
            self.parts.append(str(text)[: CAPTURE_LIMIT - self.size])
            self.size += len(self.parts[-1])
        return len(text)

    def take(self):
        text, self.parts, self.size = "".join(self.parts), [], 0
        return text


def send(message):
    PROTOCOL_OUT.write(wire.dumps(message) + "\n")
    PROTOCOL_OUT.flush()


def main():
    global PROTOCOL_OUT
    protocol_in = sys.stdin
    # Keep a private copy of the protocol pipe; fds 1 and 2 go to /dev/null so
    # that nothing student code prints, even from C, can break a message.
    PROTOCOL_OUT = os.fdopen(os.dup(1), "w", encoding="utf-8")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    sys.stdin = open(os.devnull)

    _preload()
    setup = wire.loads(protocol_in.readline())
    namespace = run_cells(setup["cells"], set(setup.get("skip", ())))
    send({"event": "ready"})
    for line in protocol_in:
        request = wire.loads(line)
        send({"id": request["id"], "outcome": answer(request, namespace)})


def _preload():
    """Import the course's libraries before the clock of the first cell starts."""
    # After IPython's shell module, the modules its InteractiveShell() imports only when one is made.
    for name in ("matplotlib", "matplotlib.pyplot", "sympy", "IPython.core.interactiveshell",
                 "IPython.core.application", "IPython.core.completer", "IPython.core.magics",
                 "IPython.core.oinspect", "IPython.core.logger", "sqlite3", "matplotlib_inline.backend_inline"):
        try:
            __import__(name)
        except Exception:
            pass
    try:
        from matplotlib.backends import backend_registry
        backend_registry.list_all()   # what "inline" resolves through: every installed package's entry points
    except Exception:
        pass


def _inside_a_sandbox():
    """True only in a sandbox: bubblewrap names its UTS namespace "grading" and the home is the
    sandbox's own. Imported anywhere else (a test, a benchmark), nothing may be reaped."""
    import socket
    return socket.gethostname() == "grading" and os.environ.get("HOME") == "/home/student"


def _reap_children():
    """Kill every process student code left running (we are alone in our PID namespace)."""
    import signal
    if not _inside_a_sandbox():   # on the host this would kill every process of the machine
        return
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) not in (1, me):
            try:
                os.kill(int(entry), signal.SIGKILL)
            except OSError:
                pass
    try:
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
    except ChildProcessError:
        pass


def _output_caps():
    try:
        caps = wire.loads(os.environ.get("MLE_GRADING_CAPS", "{}"))
    except Exception:
        caps = {}
    return {"text": int(caps.get("text", CAPTURE_LIMIT)), "images": int(caps.get("images", 8)),
            "image_bytes": int(caps.get("image_bytes", 1024 * 1024))}


class _CellOutputs(io.TextIOBase):
    """A cell's outputs in order, as plain nbgrader would keep them: printed text and figures.

    Printed text (stdout and the displayed value of the last expression) becomes
    stream outputs; a displayed object becomes its PNG image if it has one, else
    its plain-text form. HTML, JavaScript, SVG and every other rich form are
    dropped here, and the grader checks again what comes back.
    """

    def __init__(self, caps):
        self.caps = caps
        self.items, self.text_size, self.images = [], 0, 0

    def writable(self):
        return True

    def write(self, text):
        text = str(text)
        room = self.caps["text"] - self.text_size
        if room > 0 and text:
            piece = text[:room]
            self.text_size += len(piece)
            if self.items and self.items[-1]["type"] == "stream":
                self.items[-1]["text"] += piece
            else:
                self.items.append({"type": "stream", "text": piece})
        return len(text)

    def display(self, data):
        if not isinstance(data, dict):
            return
        png = data.get("image/png")
        if isinstance(png, bytes):
            import base64
            png = base64.b64encode(png).decode("ascii")
        if isinstance(png, str) and self.images < self.caps["images"] \
                and len(png) <= self.caps["image_bytes"] * 4 // 3 + 4:
            self.images += 1
            self.items.append({"type": "image/png", "data": png.replace("\n", "")})
        elif isinstance(data.get("text/plain"), str):
            room = self.caps["text"] - self.text_size
            if room > 0:
                self.text_size += min(room, len(data["text/plain"]))
                self.items.append({"type": "text/plain", "text": data["text/plain"][:room]})

    def take(self):
        items, self.items, self.text_size, self.images = self.items, [], 0, 0
        return items


# Figures are printed as they are drawn, without the inline backend's default tight crop
# (bbox_inches="tight"), which lays every figure out once more only to find its extent; the
# course's figures set their own margins (tests/test_notebook_figures.py checks nothing is cut off).
FIGURE_PRINT_OPTIONS = {"bbox_inches": None}


def _grading_shell(outputs):
    """IPython's shell, its displays (figures, display()) routed into `outputs` instead of the terminal.

    Through IPython's own extension points: the shell's display publisher and display hook
    classes (traits, as ipykernel sets them) and a subclass that records a cell's error.
    """
    from IPython.core.displayhook import DisplayHook
    from IPython.core.displaypub import DisplayPublisher
    from IPython.core.interactiveshell import InteractiveShell

    class CellOutputsPublisher(DisplayPublisher):
        def publish(self, data, metadata=None, source=None, *, transient=None, update=False, **kwargs):
            outputs.display(data)

    class PlainDisplayHook(DisplayHook):
        def write_output_prompt(self):   # no "Out[n]:" in the printed value
            pass

    class GradingShell(InteractiveShell):
        def showtraceback(self, *args, **kwargs):   # one line for the parent; no traceback printed
            etype, value, _ = sys.exc_info()
            _LAST_ERROR.append(f"{getattr(etype, '__name__', 'Error')}: {value}")

    shell = GradingShell.instance(display_pub_class=CellOutputsPublisher, displayhook_class=PlainDisplayHook)
    # The shell's configuration, which the inline backend reads when it is enabled.
    shell.config.InlineBackend.print_figure_kwargs = dict(FIGURE_PRINT_OPTIONS)
    try:
        # Figures as a notebook shows them: the inline backend displays each at the end of its cell.
        shell.enable_matplotlib("inline")
    except Exception:
        pass
    return shell


def run_cells(cells, skip):
    outputs = _CellOutputs(_output_caps())
    shell = _grading_shell(outputs)
    err = _CappedText()
    for index, source in enumerate(cells):
        if index in skip:
            continue
        send({"event": "cell_start", "index": index})
        _LAST_ERROR.clear()
        sys.stdout, sys.stderr = outputs, err
        try:
            shell.run_cell(source, store_history=False, silent=False)
        except BaseException as exc:  # SystemExit, KeyboardInterrupt raised at top level
            _LAST_ERROR.append(f"{type(exc).__name__}: {exc}")
        finally:
            sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
            _reap_children()
        items = outputs.take()
        send({"event": "cell_done", "index": index, "outputs": items,
              "stdout": "".join(i["text"] for i in items if i["type"] == "stream"), "stderr": err.take(),
              "error": _LAST_ERROR[0][:2000] if _LAST_ERROR else None})
    return shell.user_ns


_LAST_ERROR = []


def answer(request, namespace):
    import warnings
    try:
        if "variable" in request:
            name = request["variable"]
            if name not in namespace:
                return {"kind": "missing"}
            return {"kind": "returned", "value": wire.encode_result(namespace[name])}
        fn = namespace.get(request["function"])
        if not callable(fn):
            return {"kind": "missing"}
        args = [wire.decode_arg(a, CALLABLES) for a in request["args"]]
        kwargs = {k: wire.decode_arg(v, CALLABLES) for k, v in request["kwargs"].items()}
        sink = _CappedText()
        sys.stdout = sys.stderr = sink
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                names = [str(n) for n in request.get("trusted_inner", ())][:10]
                # Built for this call only and emptied after it; the source leaves the request.
                result = wire.call_with_trusted_source(fn, args, kwargs, namespace, names,
                                                       request.pop("trusted_source", ""))
        except Exception as exc:
            # The class name only: the exception's text is the student's, and never shown.
            return {"kind": "raised", "error_type": type(exc).__name__[:100]}
        finally:
            sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
            _reap_children()
        reply = {"kind": "returned", "value": wire.encode_result(result)}
        if request.get("return_args"):
            reply["args_after"] = [wire.encode_arg_after(a) for a in args]
        return reply
    except BaseException as exc:
        return {"kind": "invalid", "message": f"could not be run or its result not read: "
                                              f"{type(exc).__name__}: {str(exc)[:500]}"}


if __name__ == "__main__":
    main()
