"""A safe expression compiler for index formulas: Python ``ast`` in, numba source out.

Formulas (catalog entries and user strings such as ``"(N - R) / (N + R)"``) are parsed with
:func:`ast.parse` and checked against a whitelist: numbers, names, ``+ - * / **``, unary
minus, comparisons, and the functions ``where abs sqrt exp log tanh min max``. Anything else
(attribute access, subscripts, strings, lambdas, keyword arguments...) is rejected, and nothing
is ever passed to :func:`eval`.

The checked tree is turned into the source of one scalar expression that the fused kernel
(:mod:`eoxr.indices._kernel`) evaluates per pixel in float64.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping

from ..errors import CatalogError

#: Longest formula accepted (the longest ASI formula, NDGI, has 215 characters).
MAX_LENGTH = 4000
#: Deepest nesting accepted, counted as the generated code nests (ASI's deepest formula, GEMI,
#: is 13 levels). It keeps the recursive checker, the code generator, Python's compiler (which
#: refuses ~200 nested parentheses) and numba far from their recursion limits.
MAX_DEPTH = 100

#: Function name -> (minimum, maximum) number of arguments (``None``: any number above min).
FUNCTIONS: dict[str, tuple[int, int | None]] = {
    "where": (3, 3),
    "abs": (1, 1),
    "sqrt": (1, 1),
    "exp": (1, 1),
    "log": (1, 1),
    "tanh": (1, 1),
    "min": (2, None),
    "max": (2, None),
}

_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*"}
_CMPOPS = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}
_UNARY = {"abs": "abs", "sqrt": "np.sqrt", "exp": "np.exp", "log": "np.log", "tanh": "np.tanh"}
#: Constructs whose result is not NaN when an input is NaN (comparisons, selections): formulas
#: using them get an explicit NaN-in -> NaN-out guard in the kernel.
_NAN_BLIND_CALLS = {"where", "min", "max"}


def _fail(text: str, node: ast.AST | None, why: str) -> CatalogError:
    where = f" at {ast.unparse(node)!r}" if node is not None else ""
    return CatalogError(
        f"formula {text!r} is not allowed{where}: {why}. Formulas may use numbers, band symbols "
        "or names, constants, + - * / **, comparisons and the functions "
        f"{sorted(FUNCTIONS)}, e.g. '(N - R) / (N + R)' or 'where(N > 0.3, N - R, 0)'."
    )


def _check(node: ast.AST, text: str) -> None:
    """Raise :class:`CatalogError` unless every node of the tree is whitelisted."""
    if isinstance(node, ast.Expression):
        _check(node.body, text)
    elif isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise _fail(text, node, "only real numbers are allowed as literals")
        try:
            finite = math.isfinite(float(node.value))
        except OverflowError:  # an integer literal beyond the float range
            finite = False
        if not finite:
            raise _fail(text, node, "literals must be finite float64 numbers")
    elif isinstance(node, ast.Name):
        if node.id in FUNCTIONS:
            raise _fail(text, node, f"{node.id!r} is a function and must be called")
    elif isinstance(node, ast.BinOp):
        if type(node.op) not in _BINOPS and not isinstance(node.op, ast.Div | ast.Pow):
            raise _fail(text, node, f"operator {type(node.op).__name__} is not supported")
        _check(node.left, text)
        _check(node.right, text)
    elif isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, ast.USub | ast.UAdd):
            raise _fail(text, node, f"operator {type(node.op).__name__} is not supported")
        _check(node.operand, text)
    elif isinstance(node, ast.Compare):
        if any(type(op) not in _CMPOPS for op in node.ops):
            raise _fail(text, node, "only < <= > >= == != comparisons are supported")
        for sub in [node.left, *node.comparators]:
            _check(sub, text)
    elif isinstance(node, ast.Call):
        _check_call(node, text)
    else:
        raise _fail(text, node, f"{type(node).__name__} expressions are not supported")


def _check_call(node: ast.Call, text: str) -> None:
    if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
        raise _fail(text, node, "unknown function")
    if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
        raise _fail(text, node, "functions take plain positional arguments only")
    lo, hi = FUNCTIONS[node.func.id]
    if len(node.args) < lo or (hi is not None and len(node.args) > hi):
        raise _fail(
            text, node, f"{node.func.id} takes {lo if lo == hi else f'{lo} or more'} arguments"
        )
    for a in node.args:
        _check(a, text)


def parse(text: str) -> ast.expr:
    """Parse and check a formula; return the body of its expression tree.

    Examples
    --------
    >>> sorted(names(parse("(N - R) / (N + R + L)")))
    ['L', 'N', 'R']
    """
    if not isinstance(text, str) or not text.strip():
        raise CatalogError(f"a formula must be a non-empty string, got {text!r}")
    if len(text) > MAX_LENGTH:
        raise CatalogError(
            f"formula {text[:60]!r}... has {len(text)} characters, more than the "
            f"{MAX_LENGTH} allowed: split it, e.g. into expression constants "
            "(`cube.eo.index('a / b', a='...', b='...')`)."
        )
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as err:
        raise CatalogError(
            f"formula {text!r} is not a valid expression: {err.msg}. "
            "Write it as Python arithmetic, e.g. '(N - R) / (N + R)'."
        ) from None
    except (RecursionError, MemoryError):  # CPython's parser on pathological nesting
        raise CatalogError(
            f"formula {text[:60]!r}... is nested too deeply to compile "
            f"(more than {MAX_DEPTH} levels)"
        ) from None
    check_depth(tree.body, text)
    _check(tree, text)
    return tree.body


def check_depth(node: ast.expr, text: str) -> None:
    """Raise :class:`CatalogError` if the code generated for ``node`` nests too deeply.

    Iterative, so that a pathological tree cannot exhaust the stack here; ``min``/``max`` with
    ``k`` arguments count ``k - 1`` levels because they become nested ``_min`` calls.
    """
    stack, deepest = [(node, 1)], 0
    while stack:
        n, d = stack.pop()
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in ("min", "max"):
            d += max(0, len(n.args) - 2)
        deepest = max(deepest, d)
        if deepest > MAX_DEPTH:
            raise CatalogError(
                f"formula {text[:60]!r}{'...' if len(text) > 60 else ''} nests "
                f"more than {MAX_DEPTH} levels deep: simplify it or split it "
                "into expression constants"
            )
        stack.extend((c, d + 1) for c in ast.iter_child_nodes(n))


def names(node: ast.AST) -> set[str]:
    """Variable names (symbols, constants, band names) used by a tree, functions excluded."""
    calls = {id(n.func) for n in ast.walk(node) if isinstance(n, ast.Call)}
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and id(n) not in calls}


def is_nan_blind(node: ast.AST) -> bool:
    """True if NaN inputs may not propagate to the result (comparisons, where, min, max)."""
    for n in ast.walk(node):
        if isinstance(n, ast.Compare):
            return True
        if (
            isinstance(n, ast.Call)
            and isinstance(n.func, ast.Name)
            and n.func.id in _NAN_BLIND_CALLS
        ):
            return True
    return False


class _Substitute(ast.NodeTransformer):
    def __init__(self, mapping: Mapping[str, ast.expr]) -> None:
        self.mapping = mapping

    def visit_Call(self, node: ast.Call) -> ast.AST:
        node.args = [self.visit(a) for a in node.args]  # never substitute the function name
        return node

    def visit_Name(self, node: ast.Name) -> ast.AST:
        return self.mapping.get(node.id, node)


def substitute(node: ast.expr, mapping: Mapping[str, ast.expr]) -> ast.expr:
    """A copy of ``node`` with names replaced by sub-trees (kernel terms, expression constants)."""
    import copy

    fresh = {k: copy.deepcopy(v) for k, v in mapping.items()}
    return _Substitute(fresh).visit(copy.deepcopy(node))


def to_source(node: ast.expr, var: Callable[[str], str]) -> str:
    """Source of one float64 scalar expression for the numba kernel.

    ``var(name)`` gives the kernel variable holding a name. Division goes through ``_div`` and
    powers through ``_pow`` so that poles give NaN (see :mod:`eoxr.indices._kernel`); literals
    are written as floats so that no integer arithmetic ever happens.
    """

    def emit(n: ast.expr) -> str:
        if isinstance(n, ast.Constant):
            return repr(float(n.value))
        if isinstance(n, ast.Name):
            return var(n.id)
        if isinstance(n, ast.BinOp):
            a, b = emit(n.left), emit(n.right)
            if isinstance(n.op, ast.Div):
                return f"_div({a}, {b})"
            if isinstance(n.op, ast.Pow):
                # x ** 2 and x ** 0.5 as a product and a square root: exact, vectorisable and
                # what numpy itself does for these exponents (the reference spyndex uses numpy).
                expo = n.right.value if isinstance(n.right, ast.Constant) else None
                if expo == 2:
                    return f"_sq({a})"
                if expo == 0.5:
                    return f"np.sqrt({a})"
                return f"_pow({a}, {b})"
            return f"({a} {_BINOPS[type(n.op)]} {b})"
        if isinstance(n, ast.UnaryOp):
            return f"(-{emit(n.operand)})" if isinstance(n.op, ast.USub) else emit(n.operand)
        if isinstance(n, ast.Compare):
            terms = [n.left, *n.comparators]
            pairs = [
                f"({emit(terms[i])} {_CMPOPS[type(op)]} {emit(terms[i + 1])})"
                for i, op in enumerate(n.ops)
            ]
            return f"(1.0 if ({' and '.join(pairs)}) else 0.0)"
        if isinstance(n, ast.Call):
            fn, args = n.func.id, [emit(a) for a in n.args]
            if fn == "where":
                return f"({args[1]} if {args[0]} != 0.0 else {args[2]})"
            if fn in ("min", "max"):
                out = args[-1]
                for a in reversed(args[:-1]):
                    out = f"_{fn}({a}, {out})"
                return out
            return f"{_UNARY[fn]}({args[0]})"
        raise CatalogError(f"cannot compile {ast.unparse(n)!r}")  # unreachable after _check

    return emit(node)


__all__ = [
    "FUNCTIONS",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "parse",
    "check_depth",
    "names",
    "is_nan_blind",
    "substitute",
    "to_source",
]
