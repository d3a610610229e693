"""The grading library patches no third-party library: it assigns to no attribute of a module or class
it imports from matplotlib, nbgrader, nbconvert, SQLAlchemy, traitlets, IPython and their kind, replaces
no method of an object they made, and uses none of their private names. Speed and behaviour come from
their configuration and public extension points (subclasses configured in course_config.py)."""
import ast
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCANNED = ("mle_grading", "benchmarks")
THIRD_PARTY = {"matplotlib", "matplotlib_inline", "nbgrader", "nbconvert", "nbformat", "sqlalchemy",
               "traitlets", "IPython", "ipykernel", "jupyter_client", "dask", "distributed", "jsonschema"}


def _private(name):
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _root(node):
    """The name an attribute chain (a.b[c].d) starts from, if it starts from a name."""
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _made_from(node):
    """The name behind an expression that is an imported object, an attribute of one, or a call of one."""
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _third_party_module(dotted):
    return dotted.split(".")[0] in THIRD_PARTY


# Names with a leading underscore that the standard library documents as public.
PUBLIC_UNDERSCORED = {"_exit", "_replace", "_asdict", "_fields", "_make"}


def own_names(sources):
    """Every name the library itself defines: functions, classes, attributes it sets, variables, arguments."""
    names = set()
    for source in sources:
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, (ast.Attribute, ast.Name)) and isinstance(node.ctx, ast.Store):
                names.add(node.attr if isinstance(node, ast.Attribute) else node.id)
            elif isinstance(node, ast.arg):
                names.add(node.arg)
    return names


def problems_of(source, filename="<source>", own=None):
    """Each patch of a third-party library in `source`, as 'file:line: what'. With `own` (the names the
    library defines), also each private name read from an object the library did not define it on:
    a library's internals reached through a parameter or a subclass (`ax._axis_map`, `self._helper`)."""
    tree = ast.parse(source, filename)
    imported, made, local_functions, found = set(), set(), set(), []

    def report(node, what):
        found.append(f"{filename}:{node.lineno}: {what}")

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _third_party_module(alias.name):
                    imported.add(alias.asname or alias.name.split(".")[0])
                    if any(_private(part) for part in alias.name.split(".")):
                        report(node, f"imports the private module {alias.name}")
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level and _third_party_module(node.module):
            if any(_private(part) for part in node.module.split(".")):
                report(node, f"imports from the private module {node.module}")
            for alias in node.names:
                imported.add(alias.asname or alias.name)
                if _private(alias.name):
                    report(node, f"imports the private name {alias.name} from {node.module}")
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            local_functions.add(node.name)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "import_module" \
                or isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "__import__":
            for arg in node.args[:1]:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and _third_party_module(arg.value) \
                        and any(_private(part) for part in arg.value.split(".")):
                    report(node, f"imports the private module {arg.value}")

    # Names bound to an imported module or class, or to something taken from one (own = Figure.draw),
    # and names bound to an object one of them made (shell = InteractiveShell.instance()).
    changed = True
    while changed:
        changed = False
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                name, value = node.targets[0].id, node.value
                if name in imported or name in made:
                    continue
                if isinstance(value, (ast.Name, ast.Attribute, ast.Subscript)) and _root(value) in imported:
                    imported.add(name)
                    changed = True
                elif _made_from(value) in imported | made:
                    made.add(name)
                    changed = True

    def replaces_a_method(value):
        return isinstance(value, ast.Lambda) or isinstance(value, ast.Attribute) \
            or isinstance(value, ast.Name) and value.id in local_functions

    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.Assign):
            targets = [(t, node.value) for t in node.targets]
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [(node.target, node.value)]
        elif isinstance(node, ast.Delete):
            targets = [(t, None) for t in node.targets]
        for target, value in targets:
            if not isinstance(target, ast.Attribute):
                continue
            root = _root(target.value)
            if root in imported:
                report(target, f"assigns to {ast.unparse(target)}, an attribute of what it imports from a library")
            elif root in made and (value is None or replaces_a_method(value)):
                report(target, f"replaces {ast.unparse(target)} on an object a library made")
        if isinstance(node, ast.Attribute) and _private(node.attr):
            if _root(node.value) in imported | made:
                report(node, f"uses the private name {ast.unparse(node)}")
            elif own is not None and node.attr not in own and node.attr not in PUBLIC_UNDERSCORED:
                report(node, f"uses {ast.unparse(node)}, a private name the grading library does not define")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.args \
                and node.func.id in ("setattr", "delattr", "vars") and _root(node.args[0]) in imported | made:
            report(node, f"{node.func.id}() on {ast.unparse(node.args[0])}, which a library provides")
    return found


def _library_files():
    for top in SCANNED:
        for folder, _, names in os.walk(os.path.join(ROOT, top)):
            for name in sorted(names):
                if name.endswith(".py"):
                    yield os.path.join(folder, name)


def test_the_grading_library_patches_no_third_party_library():
    sources = {}
    for path in _library_files():
        with open(path, encoding="utf-8") as fh:
            sources[os.path.relpath(path, ROOT)] = fh.read()
    own = own_names(sources.values())
    found = [problem for name, source in sources.items() for problem in problems_of(source, name, own)]
    assert not found, "\n".join(found)


PATCHES = {
    "a method of an imported class": "from matplotlib.figure import Figure\nFigure.draw = lambda self, r: None\n",
    "a function of an imported module": "import nbgrader.api\nnbgrader.api.create_engine = print\n",
    "through a name for it": "from matplotlib import text as mtext\nown = mtext.Text\nown._get_layout = None\n",
    "with setattr": "from matplotlib import axis\nsetattr(axis.Axis, 'draw', None)\n",
    "a private name used": "from matplotlib import font_manager\nfont_manager._get_font.cache_clear()\n",
    "a private name imported": "from matplotlib.collections import _CollectionWithSizes\n",
    "a private module imported": "from matplotlib.axes._axes import Axes\n",
    "a method of an object a library made": "from IPython.core.interactiveshell import InteractiveShell\n"
                                            "shell = InteractiveShell.instance()\n"
                                            "shell.display_pub.publish = lambda *a, **k: None\n",
    "a session's commit turned into a flush": "from nbgrader.api import Gradebook\ngb = Gradebook('sqlite://')\n"
                                              "session = gb.db()\nsession.commit = session.flush\n",
}

ALLOWED = {
    "a trait set on an instance": "from nbgrader.apps.autogradeapp import AutogradeApp\napp = AutogradeApp()\n"
                                  "app.coursedir.db_url = 'sqlite://'\n",
    "a configuration value": "from traitlets.config import Config\nc = Config()\n"
                             "c.InlineBackend.print_figure_kwargs = {'bbox_inches': None}\n",
    "a subclass overriding a public method": "from nbgrader.preprocessors import SaveAutoGrades\n"
                                             "class Mine(SaveAutoGrades):\n"
                                             "    def preprocess(self, nb, resources):\n"
                                             "        self._own = 1\n"
                                             "        return super().preprocess(nb, resources)\n",
    "rcParams set": "import matplotlib\nmatplotlib.rcParams['figure.dpi'] = 72\n",
    "a private name of the library's own": "import os\nparts = os.path._private_thing if False else None\n",
}


@pytest.mark.parametrize("source", PATCHES.values(), ids=PATCHES.keys())
def test_the_scan_finds_each_kind_of_patch(source):
    assert problems_of(source)


PRIVATE_THROUGH_A_PARAMETER = {
    "on an argument": "def laid_out(ax):\n    return ax._axis_map\n",
    "inherited": "from nbgrader.exchange.default.collect import ExchangeCollect\n"
                 "class Mine(ExchangeCollect):\n    def records(self, r):\n        return self._sort_by_timestamp(r)\n",
}


@pytest.mark.parametrize("source", PRIVATE_THROUGH_A_PARAMETER.values(), ids=PRIVATE_THROUGH_A_PARAMETER.keys())
def test_the_scan_finds_a_private_name_the_library_does_not_define(source):
    assert problems_of(source, own=own_names([source]))
    own_too = source + "\nclass Own:\n    _axis_map = _sort_by_timestamp = None\n"
    assert problems_of(own_too, own=own_names([own_too])) == []


@pytest.mark.parametrize("source", ALLOWED.values(), ids=ALLOWED.keys())
def test_the_scan_allows_configuration_and_public_extension(source):
    assert problems_of(source) == []
