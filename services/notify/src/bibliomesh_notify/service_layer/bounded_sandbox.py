"""The sandbox an institution's own template runs in: jinja2's immutable sandbox, with every way of making a value
bounded by `template_limits` before the value exists (a size checked afterwards would come after the memory was
taken). The built-in templates do not run here: they are ours, and their data is bounded where it enters.

What cannot be bounded is not offered: methods that pad, repeat or replace (`ljust`, `replace`, `format`, ...),
`urlize` and `pprint`, `{% include %}`, `{% import %}`, `{% extends %}`, macros, recursive loops, and names
starting with `_` (the checks below are reached through such names).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from jinja2 import StrictUndefined, Template, nodes, pass_eval_context
from jinja2.nodes import EvalContext
from jinja2.runtime import Context, markup_join, str_join
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer
from markupsafe import Markup

from bibliomesh_notify.service_layer.template_limits import (
    MAX_FORMAT_WIDTH,
    MAX_INT_BITS,
    MAX_LOOP_DEPTH,
    MAX_RANGE,
    MAX_SOURCE_CHARS,
    MAX_VALUE_ITEMS,
    TemplateLimitError,
    charge,
    check_value,
    check_weight,
    current_budget,
    size_cost,
    weight,
)

_STR_METHODS = frozenset({
    "capitalize", "casefold", "count", "endswith", "find", "index", "isalnum", "isalpha", "isascii", "isdecimal",
    "isdigit", "isidentifier", "islower", "isnumeric", "isprintable", "isspace", "istitle", "isupper", "lower",
    "lstrip", "partition", "removeprefix", "removesuffix", "rfind", "rindex", "rpartition", "rsplit", "rstrip",
    "split", "splitlines", "startswith", "strip", "swapcase", "title", "upper"})
_METHODS: dict[type, frozenset[str]] = {
    Markup: _STR_METHODS | {"striptags", "unescape"}, str: _STR_METHODS,
    dict: frozenset({"get", "items", "keys", "values"}),
    list: frozenset({"count", "index"}), tuple: frozenset({"count", "index"})}
_PLAIN_TYPES = (str, bytes, int, float, complex, list, tuple, dict, set, frozenset)
_FORMAT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")
_FORBIDDEN: dict[type[nodes.Node], str] = {
    nodes.Extends: "{% extends %}", nodes.Include: "{% include %}", nodes.Import: "{% import %}",
    nodes.FromImport: "{% from ... import %}", nodes.Macro: "{% macro %}", nodes.CallBlock: "{% call %}"}


def _check_format(text: Any) -> None:
    """printf-style widths are padding: bounded, and never taken from the arguments (`%*s`)."""
    for width, precision in _FORMAT_SPEC.findall(str(text)):
        for number in (width, precision):
            if number == "*" or (number and int(number) > MAX_FORMAT_WIDTH):
                raise TemplateLimitError(f"a `%` format may pad to at most {MAX_FORMAT_WIDTH:,} characters")


def _check_bits(left: int, right: int, operator: str) -> None:
    bits = right * left.bit_length() if operator == "**" else left.bit_length() + right.bit_length()
    if bits > MAX_INT_BITS and abs(left) > 1:
        raise TemplateLimitError(f"`{operator}` would make a number of more than {MAX_INT_BITS:,} bits")


def _before_binop(operator: str, left: Any, right: Any) -> None:
    numbers = (int, float)
    if isinstance(left, int) and isinstance(right, int):
        if operator == "*" or (operator == "**" and right > 0):
            _check_bits(left, right, operator)
    elif operator == "*" and (isinstance(left, int) or isinstance(right, int)):
        count, repeated = (left, right) if isinstance(left, int) else (right, left)
        if not isinstance(repeated, numbers):
            times = max(count, 0)
            check_weight(times * weight(repeated), f"`*` by {count:,}")
            if isinstance(repeated, list | tuple) and times * len(repeated) > MAX_VALUE_ITEMS:
                raise TemplateLimitError(f"`*` by {count:,} makes more than {MAX_VALUE_ITEMS:,} items")
    elif operator == "+" and not (isinstance(left, numbers) and isinstance(right, numbers)):
        check_weight(weight(left) + weight(right), "`+`")
    elif operator == "%" and isinstance(left, str):
        _check_format(left)
        check_weight(len(left) + weight(right), "`%`")


# Filters whose output can outgrow their input, checked on their arguments (same parameters, after the value).
def _center(value: Any, width: int = 80) -> None:
    check_weight(max(int(width), 0), "`center`")


def _indent(s: Any, width: int | str = 4, first: bool = False, blank: bool = False) -> None:
    pad = len(width) if isinstance(width, str) else max(int(width), 0)
    check_weight(len(str(s)) + (str(s).count("\n") + 1) * pad, "`indent`")


def _replace(s: Any, old: Any, new: Any, count: int | None = None) -> None:
    text, old, new = str(s), str(old), str(new)
    times = text.count(old) if old else len(text) + 1
    check_weight(len(text) + min(times, count if count is not None and count >= 0 else times) * len(new),
                 "`replace`")


def _wordwrap(s: Any, width: int = 79, break_long_words: bool = True, wrapstring: str | None = None,
              break_on_hyphens: bool = True) -> None:
    text = str(s)
    check_weight(len(text) + (len(text) // max(int(width), 1) + 1) * len(wrapstring or "\n"), "`wordwrap`")


def _format(value: Any, *args: Any, **kwargs: Any) -> None:
    _check_format(value)


def _join(value: Any, d: str = "", attribute: Any = None) -> None:
    if isinstance(value, list | tuple | str):
        check_weight(weight(value) + len(value) * len(str(d)), "`join`")


def _sum(iterable: Any, attribute: Any = None, start: Any = 0) -> None:
    if not isinstance(start, int | float):
        raise TemplateLimitError("`sum` adds numbers only")


def _tojson(value: Any, indent: int | None = None) -> None:
    if indent is not None and int(indent) > 8:
        raise TemplateLimitError("`tojson` indents by at most 8")


def _items(filter_name: str) -> Callable[..., None]:
    def check(value: Any, count: int, fill_with: Any = None) -> None:
        if int(count) > MAX_VALUE_ITEMS:
            raise TemplateLimitError(f"`{filter_name}` makes at most {MAX_VALUE_ITEMS:,} items")

    return check


# Filters that never turn their input into text, so a large input (a long digest) is no reason to refuse them.
_STRUCTURAL = frozenset({
    "abs", "attr", "batch", "count", "d", "default", "dictsort", "first", "float", "groupby", "int", "items", "last",
    "length", "list", "map", "max", "min", "random", "reject", "rejectattr", "reverse", "round", "select",
    "selectattr", "slice", "sort", "sum", "unique"})
_FILTER_CHECKS: dict[str, Callable[..., None]] = {
    "center": _center, "indent": _indent, "replace": _replace, "wordwrap": _wordwrap, "format": _format,
    "join": _join, "sum": _sum, "tojson": _tojson, "batch": _items("batch"), "slice": _items("slice")}


def _bounded_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    passes = 1 if getattr(func, "jinja_pass_arg", None) is not None else 0
    check = _FILTER_CHECKS.get(name)

    @functools.wraps(func)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        if len(args) > passes and isinstance(args[passes], Iterator):
            # a lazy input (`map`, `select`, ...) is counted as the list it is about to become
            args = (*args[:passes], check_value(list(args[passes]), f"the `{name}` filter's input"),
                    *args[passes + 1:])
        given = args[passes:]
        if name in _STRUCTURAL:
            size = len(given[0]) if given and isinstance(given[0], str | list | tuple | dict) else 0
        else:
            size = weight(given[0]) if given else 0
            check_weight(size, f"the `{name}` filter's input")
        charge(1 + size // 1024)
        if check is not None:
            check(*given, **kwargs)
        result = check_value(func(*args, **kwargs), f"the `{name}` filter")
        charge(size_cost(result))
        return result

    return bounded


def _range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise TemplateLimitError(f"`range` gives at most {MAX_RANGE:,} numbers")
    return numbers


def _loop_turns(iterable: Iterable[Any], steps_per_turn: int, written_per_turn: int) -> Iterator[Any]:
    budget = current_budget()
    if budget is None:
        yield from iterable
        return
    for item in iterable:
        budget.charge(steps_per_turn, written_per_turn)
        yield item


@pass_eval_context
def _concat(eval_ctx: EvalContext, *values: Any) -> str:
    check_weight(sum(weight(v) for v in values), "`~`")
    return markup_join(values) if eval_ctx.autoescape else str_join(values)


def _written(value: Any) -> Any:
    """Every `{{ ... }}`, output or captured, counts towards what the template writes."""
    size = weight(value)
    check_weight(size, "`{{ ... }}`")
    charge(0, size)
    return value


class BoundedSandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, autoescape: bool) -> None:
        super().__init__(undefined=StrictUndefined, autoescape=autoescape, lstrip_blocks=True,
                         keep_trailing_newline=False, finalize=_written)
        self.filters = {name: _bounded_filter(name, func) for name, func in self.filters.items()
                        if name not in {"urlize", "pprint"}}
        self.globals.pop("lipsum", None)
        self.globals.update(range=_range, _loop_turns=_loop_turns, _concat=_concat)

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if not super().is_safe_attribute(obj, attr, value):
            return False
        if callable(value) and isinstance(obj, _PLAIN_TYPES):
            return attr in _METHODS.get(type(obj), frozenset())
        return True

    def wrap_str_format(self, value: Any) -> None:
        return None  # `str.format` pads without bound (`{:>999999999}`): refused as any other method

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        _before_binop(operator, left, right)
        result = check_value(super().call_binop(context, operator, left, right), f"`{operator}`")
        charge(1 + size_cost(result))
        return result

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        charge()
        result = check_value(super().call(context, obj, *args, **kwargs), "a call")
        charge(size_cost(result))
        return result

    def compile_bounded(self, source: str) -> Template:
        """The template, once its structure is within the limits; TemplateLimitError otherwise."""
        if len(source) > MAX_SOURCE_CHARS:
            raise TemplateLimitError(f"a template is at most {MAX_SOURCE_CHARS:,} characters")
        tree = self.parse(source)
        _Bounded().visit(tree)
        tree.set_environment(self)
        return self.from_string(tree)


def _one_turn(body: list[nodes.Node]) -> tuple[int, int]:
    """The steps (expressions and tags) and the characters of literal text of one turn of a loop with `body`;
    a nested loop counts its own turns."""
    steps = chars = 0
    for node in body:
        steps += 1
        if isinstance(node, nodes.TemplateData):
            chars += len(node.data)
        elif not isinstance(node, nodes.For):
            more_steps, more_chars = _one_turn(list(node.iter_child_nodes()))
            steps, chars = steps + more_steps, chars + more_chars
    return steps, chars


class _Bounded(NodeTransformer):
    """Refuses what the limits forbid; makes loops count their turns and `~` check its size."""

    def __init__(self) -> None:
        self.depth = 0

    def generic_visit(self, node: nodes.Node, *args: Any, **kwargs: Any) -> Any:
        for kind, name in _FORBIDDEN.items():
            if isinstance(node, kind):
                raise TemplateLimitError(f"{name} is not available in an institution's template")
        if isinstance(node, nodes.Name) and node.name.startswith("_"):
            raise TemplateLimitError(f"names starting with `_` are reserved (`{node.name}`)")
        return super().generic_visit(node, *args, **kwargs)

    def visit_For(self, node: nodes.For) -> nodes.Node:
        if node.recursive:
            raise TemplateLimitError("recursive loops are not available in an institution's template")
        self.depth += 1
        if self.depth > MAX_LOOP_DEPTH:
            raise TemplateLimitError(f"loops may nest at most {MAX_LOOP_DEPTH} deep")
        self.generic_visit(node)  # in place
        self.depth -= 1
        steps, chars = _one_turn(node.body)
        node.iter = nodes.Call(nodes.Name("_loop_turns", "load", lineno=node.lineno),
                               [node.iter, nodes.Const(1 + steps, lineno=node.lineno),
                                nodes.Const(chars, lineno=node.lineno)], [], None, None, lineno=node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)  # in place
        return nodes.Call(nodes.Name("_concat", "load", lineno=node.lineno), node.nodes, [], None, None,
                          lineno=node.lineno)

