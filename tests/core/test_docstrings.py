"""Every ``.eo`` verb has a numpydoc docstring with Parameters, Returns and Examples sections."""

import inspect
import re

import pytest

import eoxr.accessor as acc
from eoxr._registry import resolve

VERBS = {**acc.EODataArrayAccessor._verbs(), **acc.EODatasetAccessor._verbs()}
SECTIONS = ("Parameters", "Returns", "Examples")


def _sections(doc: str) -> set[str]:
    # numpydoc section header: a title line underlined by dashes of the same length
    return {
        m.group(1)
        for m in re.finditer(r"^(\w[\w ]*)\n(-+)$", doc, re.M)
        if len(m.group(1)) == len(m.group(2))
    }


@pytest.mark.parametrize("name", sorted(VERBS))
def test_verb_docstring_has_numpydoc_sections(name):
    target = VERBS[name].target
    doc = inspect.getdoc(resolve(target)) or ""
    missing = [s for s in SECTIONS if s not in _sections(doc)]
    assert not missing, f"{target} (verb `{name}`) lacks numpydoc sections {missing}"
    examples = doc.split("Examples\n--------", 1)[1]
    assert ">>> " in examples, f"{target}: the Examples section has no doctest"


def test_section_parser():
    doc = "Summary.\n\nParameters\n----------\nx : int\n\nReturns\n---\nint\n"
    assert _sections(doc) == {"Parameters"}
