"""The package's import graph, read from the source with ast (every import, also those inside
functions): no circles, and the core (lstm_np/*.py, layers/, kernels/) does not import the
forecasting application (lstm_np/forecast/), except the four ``python -m lstm_np.<command>``
doors that keep the old command names working."""
import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "lstm_np"
COMMAND_DOORS = {"lstm_np.train", "lstm_np.predict", "lstm_np.compare", "lstm_np.backtest", "lstm_np.tune"}


def module_name(path):
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph():
    """module -> the set of lstm_np modules it imports."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = package[:len(package) - node.level + 1] if node.level else []
                module = ".".join(base + ([node.module] if node.module else []))
                # `from package import submodule` needs the submodule; any other name, the module
                submodules = {f"{module}.{alias.name}" for alias in node.names} & set(modules)
                targets |= submodules
                if len(submodules) < len(node.names):
                    targets.add(module)
            elif isinstance(node, ast.Import):
                targets |= {alias.name for alias in node.names}
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def circles(graph):
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while not component or v not in component:
                component.add(stack.pop())
            on_stack.difference_update(component)
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_graph_is_read():
    graph = import_graph()
    assert "lstm_np.layers.rnn" in graph["lstm_np.layers.lstm"] or \
        "lstm_np.layers.recurrent" in graph["lstm_np.layers.lstm"]
    assert circles({"a": {"b"}, "b": {"a"}, "c": set()}) == [["a", "b"]]


def test_no_import_circles():
    assert circles(import_graph()) == []


def test_the_core_does_not_import_the_application():
    graph = import_graph()
    arrows = sorted((m, t) for m, targets in graph.items() for t in targets
                    if not m.startswith("lstm_np.forecast") and m not in COMMAND_DOORS
                    and t.startswith("lstm_np.forecast"))
    assert arrows == []
