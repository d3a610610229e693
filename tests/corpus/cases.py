"""Submissions that attack the grader, break it, or answer honestly in other words.

Each case is one student's submission: the reference answers everywhere, then one
change. `zero` names the test cells that must score 0; every other test cell of
the notebook must keep its points unless `others_may_fail` says why not.
"""
from dataclasses import dataclass, field

NB1 = "01_gaussian_mse"
MSE_CELLS = {"mse_seed_value", "mse_matches_torch", "mse_accepts_lists_and_float32"}

WRONG_MSE = "def mse(y_pred, y):\n    return 0.0\n"


@dataclass
class Case:
    student: str
    kind: str                         # attack | broken | honest
    notebook: str = NB1
    answers: dict = field(default_factory=dict)     # answer grade_id -> source
    extra_cells: list = field(default_factory=list)  # code cells appended after the answers
    mutate: object = None             # function(notebook) -> None, edits the notebook
    raw: bytes = None                 # the notebook file's bytes, replacing it entirely
    drop_notebook: bool = False       # the notebook is not submitted at all
    extra_files: dict = field(default_factory=dict)  # other files submitted beside it
    zero: set = field(default_factory=set)
    others_may_fail: str = ""
    report: str = ""                  # text the grading report must contain
    what: str = ""


def _add_code_cell(source, before_grade_id=None):
    def mutate(nb):
        import nbformat
        cell = nbformat.v4.new_code_cell(source)
        index = len(nb.cells)
        if before_grade_id:
            index = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == before_grade_id)
        nb.cells.insert(index, cell)
    return mutate


def _edit_test_cells(fn):
    def mutate(nb):
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", {}).get("grade"):
                fn(cell)
    return mutate


def _set_kernelspec(nb):
    nb.metadata["kernelspec"] = {"name": "evil", "display_name": "Evil", "language": "python"}


def _delete_test_cells(nb):
    nb.cells = [c for c in nb.cells if not c.metadata.get("nbgrader", {}).get("grade")]


def _tamper_metadata(nb):
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade"):
            meta["points"] = 1000
        if meta.get("grade_id") == "mse_seed_value":
            meta["grade"] = False
        if meta.get("grade_id") == "mse_answer":  # the student's own cell claims to be a test
            meta.update(grade=True, points=50, grade_id="free_points")


ATTACKS = [
    Case("atk-patch-comparisons", "attack", answers={"mse_answer": WRONG_MSE}, zero=MSE_CELLS,
         extra_cells=["import math, unittest, numpy as np, builtins\n"
                      "np.isclose = lambda *a, **k: True\nnp.allclose = lambda *a, **k: True\n"
                      "math.isclose = lambda *a, **k: True\nnp.testing.assert_allclose = lambda *a, **k: None\n"
                      "unittest.TestCase.assertAlmostEqual = lambda *a, **k: None\n"
                      "builtins.abs = lambda x: 0\n"],
         what="patches np.isclose, np.allclose, math.isclose, unittest and builtins"),
    Case("atk-equal-to-everything", "attack", zero=MSE_CELLS, answers={"mse_answer": (
        "class Anything(float):\n    def __eq__(self, other): return True\n    def __ne__(self, other): return False\n"
        "    def __lt__(self, o): return True\n    def __le__(self, o): return True\n"
        "    def __gt__(self, o): return True\n    def __ge__(self, o): return True\n"
        "    def __sub__(self, o): return Anything(0)\n    __rsub__ = __sub__\n    def __abs__(self): return Anything(0)\n"
        "def mse(y_pred, y):\n    return Anything(123.0)\n")},
        what="returns a float subclass that equals everything"),
    Case("atk-array-subclass", "attack", zero=MSE_CELLS, answers={"mse_answer": (
        "class Liar(np.ndarray):\n    def __eq__(self, other): return np.ones(np.shape(other), bool)\n"
        "    def __array_finalize__(self, obj): pass\n"
        "def mse(y_pred, y):\n    return np.array(-1.0).view(Liar)\n")},
        what="returns an ndarray subclass whose == is always true"),
    Case("atk-hijack-run-cell", "attack", answers={"mse_answer": WRONG_MSE}, zero=MSE_CELLS,
         extra_cells=["ip = get_ipython()\nip.run_cell = lambda *a, **k: None\n"
                      "ip.showtraceback = lambda *a, **k: None\nimport sys\nsys.excepthook = lambda *a: None\n"],
         what="replaces run_cell, showtraceback and sys.excepthook"),
    Case("atk-torch-answer", "attack", zero=MSE_CELLS, answers={"mse_answer": (
        "def mse(y_pred, y):\n    import torch\n    import torch.nn.functional as F\n"
        "    return F.mse_loss(torch.as_tensor(y_pred, dtype=torch.float64), "
        "torch.as_tensor(y, dtype=torch.float64)).item()\n")},
        what="computes the answer with torch"),
    Case("atk-scipy-from-base-interpreter", "attack", zero=MSE_CELLS, answers={"mse_answer": (
        "import glob, sys\n"
        "sys.path[:0] = sorted(glob.glob(sys.base_prefix + '/lib/python3*/site-packages')\n"
        "                      + glob.glob('/usr/lib/python3/dist-packages') + glob.glob('/opt/conda/lib/python3*/site-packages'))\n"
        "def mse(y_pred, y):\n    from scipy.spatial.distance import sqeuclidean\n"
        "    a, b = np.ravel(np.asarray(y_pred, float)), np.ravel(np.asarray(y, float))\n"
        "    return sqeuclidean(a, b) / a.size\n")},
        what="imports SciPy from the base interpreter's (or the distribution's) site-packages"),
    Case("atk-scipy-sklearn-answer", "attack", zero=MSE_CELLS, answers={"mse_answer": (
        "def mse(y_pred, y):\n    try:\n        from sklearn.metrics import mean_squared_error\n"
        "        return mean_squared_error(y, y_pred)\n    except ImportError:\n"
        "        import scipy.stats\n        return 0.0\n")},
        what="calls another library's ready-made loss"),
    Case("atk-read-source-solution", "attack", zero=MSE_CELLS, answers={"mse_answer": (
        "import os, glob, json\n"
        "def _steal():\n    d = os.getcwd()\n    for _ in range(8):\n"
        "        for p in glob.glob(os.path.join(d, 'source', '*', '01_gaussian_mse.ipynb')):\n"
        "            nb = json.load(open(p))\n            for c in nb['cells']:\n"
        "                if 'def mse' in ''.join(c['source']):\n                    return ''.join(c['source'])\n"
        "        d = os.path.dirname(d)\n    return None\n"
        "_code = _steal()\nif _code:\n    exec(_code)\nelse:\n    def mse(y_pred, y):\n        return 0.0\n")},
        what="walks up to source/ and runs the reference solution"),
    Case("atk-read-other-students", "attack", zero=MSE_CELLS, answers={"mse_answer": (
        "import glob\n_found = glob.glob('/**/submitted/**/*.ipynb', recursive=True) + "
        "glob.glob('../../*/mle_losses/*.ipynb')\n"
        "def mse(y_pred, y):\n    return float(len(_found))\n")},
        what="looks for other students' notebooks"),
    Case("atk-read-grading-library", "attack", zero=MSE_CELLS, answers={"mse_answer": (
        "def mse(y_pred, y):\n    try:\n        from mle_grading.checks import reference\n        return reference.mse(y_pred, y)\n"
        "    except Exception:\n        import sys, glob\n        hits = glob.glob('/**/mle_grading/checks/reference.py', recursive=True)\n"
        "        if hits:\n            ns = {}\n            exec(open(hits[0]).read(), ns)\n            return ns['mse'](y_pred, y)\n"
        "        return -1.0\n")},
        what="imports or finds the grader's reference implementation"),
    Case("atk-inspect-caller-frames", "attack", zero=MSE_CELLS, answers={"mse_answer": (
        "import sys\ndef mse(y_pred, y):\n    f = sys._getframe(1)\n    while f is not None:\n"
        "        for name in ('want', 'expected', 'reference', 'ref'):\n"
        "            if name in f.f_locals:\n                return f.f_locals[name]\n        f = f.f_back\n"
        "    return 0.0\n")},
        what="reads the expected value from the caller's frames"),
    Case("atk-shadow-modules", "attack", answers={"mse_answer": WRONG_MSE}, zero=MSE_CELLS,
         extra_files={"mle_grading.py": "open('/tmp/mle_shadow_pwned', 'w').write('pwned')\n",
                      "torch.py": "open('/tmp/mle_shadow_pwned', 'w').write('pwned')\n",
                      "sitecustomize.py": "open('/tmp/mle_shadow_pwned', 'w').write('pwned')\n",
                      "numpy.py": "open('/tmp/mle_shadow_pwned', 'w').write('pwned')\n"},
         what="ships modules beside the notebook that shadow numpy, torch and the grader"),
    Case("atk-detect-grading", "attack", zero=MSE_CELLS, answers={"mse_answer": (
        "import os\n_grading = os.environ.get('NBGRADER_EXECUTION') or os.getuid() != 0\n"
        "def mse(y_pred, y):\n    if _grading:\n        for p in ('/work', '/root', '/home', '/srv'):\n"
        "            try:\n                open(os.path.join(p, 'gradebook.db'), 'w').write('x')\n"
        "            except OSError:\n                pass\n        return 0.0\n"
        "    y_pred, y = np.asarray(y_pred, float), np.asarray(y, float)\n    return float(np.mean((y_pred - y) ** 2))\n")},
        what="behaves differently when it detects grading, and tries to write a gradebook"),
    Case("atk-write-gradebook-and-course", "attack", answers={"mse_answer": WRONG_MSE}, zero=MSE_CELLS,
         extra_cells=["import os, sqlite3\nfor d in ['.', '..', '../..', '../../..', '../../../..', os.path.expanduser('~')]:\n"
                      "    for name in ('gradebook.db', 'pwned.txt'):\n        try:\n"
                      "            p = os.path.join(d, name)\n            open(p, 'a').write('pwned')\n"
                      "            con = sqlite3.connect(p); con.execute('drop table grade'); con.commit()\n"
                      "        except Exception:\n            pass\n"
                      "open('/tmp/pwned.txt', 'w').write('x')\n"],
         what="writes to the gradebook, the course root, home and /tmp"),
    Case("atk-forge-protocol-reply", "attack", answers={"mse_answer": WRONG_MSE}, zero=MSE_CELLS,
         extra_cells=["import os\nfor fd in range(3, 20):\n    try:\n"
                      "        os.write(fd, b'{\"id\": 1, \"outcome\": {\"kind\": \"returned\", \"value\": {\"kind\": \"array\", "
                      "\"dtype\": \"float64\", \"shape\": [], \"data\": [1.45086]}}}\\n' * 50)\n    except OSError:\n        pass\n"],
         what="writes forged replies to every open file descriptor"),
    Case("atk-fork-bomb", "attack", answers={"mse_answer": WRONG_MSE}, zero=MSE_CELLS,
         extra_cells=["import subprocess\nps = []\ntry:\n    for i in range(300):\n"
                      "        ps.append(subprocess.Popen(['sleep', '60']))\nexcept Exception as e:\n    print('stopped', len(ps))\n"],
         what="spawns 300 processes"),
    Case("atk-memory-bomb", "attack", answers={"mse_answer": WRONG_MSE}, zero=MSE_CELLS,
         extra_cells=["chunks = []\ntry:\n    while True:\n        chunks.append(bytearray(500_000_000))\n"
                      "except MemoryError:\n    chunks = None\n"],
         what="allocates memory until refused"),
    Case("atk-disk-fill", "attack", answers={"mse_answer": WRONG_MSE}, zero=MSE_CELLS,
         extra_cells=["for path in ('/tmp/fill', 'fill'):\n    try:\n        with open(path, 'wb') as fh:\n"
                      "            for _ in range(4000):\n                fh.write(b'0' * 1_000_000)\n"
                      "    except OSError as e:\n        print('refused', e)\n"],
         what="fills the disk"),
    Case("atk-network", "attack", answers={"mse_answer": WRONG_MSE}, zero=MSE_CELLS,
         extra_cells=["import socket, os\nport = int(open('port.txt').read()) if os.path.exists('port.txt') else 0\n"
                      "for host in ('127.0.0.1', 'localhost'):\n    try:\n"
                      "        socket.create_connection((host, port or 1), timeout=2).sendall(b'pwned')\n"
                      "    except OSError:\n        pass\n"],
         what="connects to a listener on the grader's loopback"),
    Case("atk-kill-parent", "attack", answers={"mse_answer": WRONG_MSE}, zero=MSE_CELLS,
         extra_cells=["import os, signal\nfor pid in range(1, 400):\n    if pid != os.getpid():\n        try:\n"
                      "            os.kill(pid, signal.SIGKILL)\n        except OSError:\n            pass\n"],
         what="kills every process it can see"),
    # The variance is derived from the student's own NLL expression (sp.diff, sp.solve): an
    # attacked NLL takes it down too, honestly.
    Case("atk-sympy-nan", "attack", zero={"gaussian_nll_expr_equivalent", "sigma2_mle_expr_equivalent"},
         answers={"gaussian_nll_expr_answer": "gaussian_nll_expr = sp.nan\n"},
         what="answers the derivation with NaN, which compares unequal"),
    Case("atk-sympy-injection", "attack", zero={"gaussian_nll_expr_equivalent", "sigma2_mle_expr_equivalent"},
         answers={"gaussian_nll_expr_answer": "gaussian_nll_expr = sp.Symbol(\"__import__('os').system('touch /tmp/pwned')\")\n"},
         what="a symbol whose name is code"),
]

BROKEN = [
    Case("brk-syntax-error", "broken", answers={"mse_answer": "def mse(y_pred, y)\n    return 0\n"}, zero=MSE_CELLS,
         what="a syntax error in one answer"),
    Case("brk-infinite-loop-cell", "broken", extra_cells=["while True:\n    pass\n"],
         report="did not finish within the time limit", what="an infinite loop at the top level of a cell"),
    Case("brk-infinite-loop-function", "broken", zero=MSE_CELLS,
         answers={"mse_answer": "def mse(y_pred, y):\n    while True:\n        pass\n"},
         what="an infinite loop inside one function"),
    Case("brk-kernel-dies", "broken", extra_cells=["import os\nos._exit(1)\n"],
         report="stopped the notebook's process", what="a cell that kills its own process"),
    Case("brk-dies-inside-function", "broken", zero=MSE_CELLS,
         answers={"mse_answer": "def mse(y_pred, y):\n    import os\n    os._exit(3)\n"},
         what="a function that kills its own process"),
    Case("brk-system-exit", "broken", extra_cells=["raise SystemExit('bye')\n"], what="raises SystemExit at the top level"),
    Case("brk-huge-output", "broken", extra_cells=["print('x' * 50_000_000)\nfor i in range(200000):\n    print(i)\n"],
         what="prints 50 MB of output"),
    Case("brk-truncated-notebook", "broken", raw=b'{"cells": [{"cell_type": "code", "source": "def mse(', zero="ALL",
         report="not a valid notebook file", what="a truncated notebook file"),
    Case("brk-empty-file", "broken", raw=b"", zero="ALL", report="not a valid notebook file", what="an empty file"),
    Case("brk-binary-garbage", "broken", raw=bytes(range(256)) * 10, zero="ALL",
         report="not a valid notebook file", what="binary garbage"),
    Case("brk-invalid-nbformat", "broken", raw=b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": 7}',
         zero="ALL", report="not a valid notebook file", what="JSON that is not a notebook"),
    Case("brk-missing-notebook", "broken", drop_notebook=True, zero="ALL", what="the notebook was not submitted"),
    Case("brk-deleted-test-cells", "broken", mutate=_delete_test_cells, what="every test cell deleted"),
    Case("brk-edited-test-cells", "broken", answers={"mse_answer": WRONG_MSE}, zero=MSE_CELLS,
         mutate=_edit_test_cells(lambda c: setattr(c, "source", "pass")), what="test cells replaced by `pass`"),
    Case("brk-tampered-metadata", "broken", mutate=_tamper_metadata,
         what="points set to 1000, a test cell's grade flag cleared, an answer cell posing as a test"),
    Case("brk-changed-kernelspec", "broken", mutate=_set_kernelspec, what="a kernelspec that does not exist"),
    Case("brk-sympy-string", "broken", zero={"gaussian_nll_expr_equivalent", "sigma2_mle_expr_equivalent"},
         answers={"gaussian_nll_expr_answer": "gaussian_nll_expr = 'log(2*pi*sigma2)/2 + (y - y_hat)**2/(2*sigma2)'\n"},
         what="the derivation as a string instead of a SymPy expression"),
]

HONEST = [
    Case("hon-python-loops", "honest", answers={
        "mse_answer": ("def mse(y_pred, y):\n    a, b = np.broadcast_arrays(np.asarray(y_pred, dtype=float), np.asarray(y, dtype=float))\n"
                       "    total = 0.0\n    for u, v in zip(a.ravel(), b.ravel()):\n        total += (u - v) * (u - v)\n"
                       "    return total / a.size\n"),
        "sigma2_mle_answer": ("def sigma2_mle(y_pred, y):\n    r = np.ravel(np.asarray(y, float) - np.asarray(y_pred, float))\n"
                              "    return sum(v * v for v in r) / len(r)\n")},
        what="loops in plain Python"),
    Case("hon-other-algebra", "honest", answers={
        "gaussian_nll_answer": ("import math\ndef gaussian_nll(y_pred, y, sigma2=1.0):\n    s2 = np.asarray(sigma2, dtype=np.float64)\n"
                                "    if (s2 <= 0).any():\n        raise ValueError('variance must be > 0')\n"
                                "    r = np.subtract(y, y_pred, dtype=np.float64)\n"
                                "    return np.mean(np.log(np.sqrt(2 * math.pi * s2)) + 0.5 * np.square(r) / s2)\n"),
        "laplace_nll_answer": ("def laplace_nll(y_pred, y, b=1.0):\n    b = np.asarray(b, float)\n    if np.any(b <= 0):\n"
                               "        raise ValueError(f'bad scale {b}')\n"
                               "    return (np.log(2) + np.log(b) + np.abs(np.subtract(y, y_pred)) / b).mean()\n"),
        "sigma2_mle_answer": ("def sigma2_mle(y_pred, y):\n    r = np.asarray(y, float) - np.asarray(y_pred, float)\n"
                              "    return np.var(r) + np.mean(r) ** 2\n")},
        what="the same formulas by other algebra"),
    Case("hon-float32-and-0d-arrays", "honest", answers={
        "mse_answer": "def mse(y_pred, y):\n    d = np.subtract(y_pred, y)\n    return np.mean(d * d, keepdims=False)[()]\n"},
        what="keeps the input's precision and returns a 0-d NumPy value"),
    Case("hon-symbolic-other-form", "honest", answers={
        "gaussian_nll_expr_answer": ("density = 1 / sp.sqrt(2 * sp.pi * sigma2) * sp.exp(-(y - y_hat) ** 2 / (2 * sigma2))\n"
                                     "gaussian_nll_expr = -sp.log(density)\n")},
        what="writes -log of the density and lets SymPy keep it unsimplified"),
    Case("hon-warnings-and-prints", "honest", answers={
        "laplace_nll_answer": ("import warnings\ndef laplace_nll(y_pred, y, b=1.0):\n    b = np.asarray(b, float)\n"
                               "    print('computing laplace nll')\n    warnings.warn('a harmless RuntimeWarning', RuntimeWarning)\n"
                               "    np.log(np.zeros(1))  # a NumPy warning on stderr\n"
                               "    if np.any(b <= 0):\n        raise ValueError('b must be positive')\n"
                               "    return np.mean(np.log(2 * b) + np.abs(np.asarray(y, float) - np.asarray(y_pred, float)) / b)\n")},
        extra_cells=["%matplotlib inline\nimport matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.show()\n"
                     "import sys\nprint('to stderr', file=sys.stderr)\n"
                     "print('<b id=\"student-markup\">markup in printed output</b>')\n"],
        what="prints (markup too), warns on stderr, uses magics and plots"),
]

ALL = ATTACKS + BROKEN + HONEST

# -- the other notebooks -----------------------------------------------------

NB2, NB3, NB4 = "02_bernoulli_bce", "03_categorical_ce", "04_gradients"
SIGMOID_CELLS = {"sigmoid_values", "sigmoid_extreme_logits"}
SOFTMAX_CELLS = {"softmax_matches_torch", "softmax_large_logits", "softmax_last_axis_any_shape",
                 "softmax_accepts_lists_and_float32"}
BCE_GRAD_CELLS = {"bce_grad_matches_torch", "bce_grad_extreme_logits", "bce_grad_lists_and_float32",
                  "gradient_descent_steps_to_accuracy"}  # the training experiment uses bce_grad

ATTACKS += [
    Case("atk-torch-sigmoid", "attack", NB2, zero=SIGMOID_CELLS, answers={"sigmoid_answer": (
        "def sigmoid(z):\n    import torch\n    return torch.sigmoid(torch.as_tensor(np.asarray(z, float))).numpy()\n")},
        what="sigmoid by torch"),
    Case("atk-patch-numpy-softmax", "attack", NB3, zero=SOFTMAX_CELLS,
         answers={"softmax_answer": "def softmax(z):\n    return np.zeros(np.shape(z))\n"},
         extra_cells=["import numpy as np, numpy.testing\nnp.allclose = lambda *a, **k: True\n"
                      "np.isclose = lambda a, b, *r, **k: np.ones(np.broadcast(a, b).shape, bool)\n"
                      "np.array_equal = lambda *a, **k: True\nnumpy.testing.assert_allclose = lambda *a, **k: None\n"],
         what="a wrong softmax, with NumPy's comparisons patched"),
    Case("atk-torch-autograd-grad", "attack", NB4, zero=BCE_GRAD_CELLS, answers={"bce_grad_answer": (
        "def bce_grad(z, y):\n    import torch\n    zt = torch.tensor(np.asarray(z, float), requires_grad=True)\n"
        "    loss = torch.nn.functional.binary_cross_entropy_with_logits(zt, torch.tensor(np.asarray(y, float)), "
        "reduction='sum')\n    loss.backward()\n    return zt.grad.numpy()\n")},
        what="the gradient by torch autograd"),
]

HONEST += [
    Case("hon-tanh-and-logaddexp", "honest", NB2, answers={
        "sigmoid_answer": "def sigmoid(z):\n    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=float)))\n",
        "bce_with_logits_answer": ("def bce_with_logits(z, y):\n    z, y = np.asarray(z, float), np.asarray(y, float)\n"
                                   "    return np.mean(y * np.logaddexp(0, -z) + (1 - y) * np.logaddexp(0, z))\n")},
        what="sigmoid through tanh, BCE through np.logaddexp"),
    Case("hon-logaddexp-and-loops", "honest", NB3, answers={
        "softmax_answer": ("def softmax(z):\n    z = np.asarray(z, dtype=float)\n"
                           "    return np.exp(z - np.logaddexp.reduce(z, axis=-1, keepdims=True))\n"),
        "log_softmax_answer": ("def log_softmax(z):\n    z = np.asarray(z, dtype=float)\n"
                               "    return z - np.logaddexp.reduce(z, axis=-1, keepdims=True)\n"),
        "categorical_nll_answer": ("import math\ndef categorical_nll(z, y):\n    rows = np.atleast_2d(np.asarray(z, float))\n"
                                   "    labels = np.atleast_1d(np.asarray(y)).ravel()\n    total = 0.0\n"
                                   "    for row, label in zip(rows, labels):\n        m = max(row)\n"
                                   "        total += m + math.log(sum(math.exp(v - m) for v in row)) - row[int(label)]\n"
                                   "    return total / len(labels)\n")},
        what="log-sum-exp by np.logaddexp.reduce, the loss by Python loops"),
    Case("hon-other-gradient-forms", "honest", NB4, answers={
        "bce_grad_answer": ("def bce_grad(z, y):\n    z, y = np.asarray(z, float), np.asarray(y, float)\n"
                            "    pos, neg = 0.5 * (1 + np.tanh(0.5 * z)), 0.5 * (1 + np.tanh(-0.5 * z))\n"
                            "    return (1 - y) * pos - y * neg\n"),
        "mse_sigmoid_grad_answer": ("def mse_sigmoid_grad(z, y):\n    z, y = np.asarray(z, float), np.asarray(y, float)\n"
                                    "    s, s_neg = 0.5 * (1 + np.tanh(0.5 * z)), 0.5 * (1 + np.tanh(-0.5 * z))\n"
                                    "    return 2 * (s - y) * s * s_neg\n"),
        "softmax_ce_grad_answer": ("def softmax_ce_grad(z, y):\n    z = np.asarray(z, float)\n    rows = np.atleast_2d(z).copy()\n"
                                   "    labels = np.atleast_1d(np.asarray(y)).astype(int)\n    for i in range(rows.shape[0]):\n"
                                   "        e = np.exp(rows[i] - rows[i].max())\n        rows[i] = e / e.sum()\n"
                                   "        rows[i, labels[i]] -= 1.0\n    return rows[0] if z.ndim == 1 else rows\n")},
        what="gradients through sigmoid(-z) = 1 - sigmoid(z) and a per-row loop"),
]

ALL = ATTACKS + BROKEN + HONEST
