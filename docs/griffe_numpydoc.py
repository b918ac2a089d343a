"""Render sknet's numpydoc docstrings faithfully on the API page.

sknet's docstrings follow numpydoc as scikit-learn writes it. Griffe's numpy
parser reads most of that, but some of it would come out wrong on the page,
so this Griffe extension rewrites the docstring text before it is parsed:

* Sphinx roles (``:class:`Net```, ``:meth:`fit```) would show as literal
  text. In prose they become cross-references to the documented object,
  links to scikit-learn's reference for ``sklearn.*`` names, and plain code
  otherwise. In a type, which the page shows as code, they become the name.
* A parameter typed ``{"a", "b"} or type, default=x`` would lose ``or type``
  and show ``"a"`` as its default, and ``str or path-like`` would show as
  ``str or path - like``. Such types are given to the parser in a form it
  keeps as written.
* A list of ``name : type`` entries nested in a description (the attributes
  of a returned Bunch) would run together into one paragraph; it becomes a
  Markdown list.
* "See Also" entries would also run together; they become a list, one
  linked name per entry.

Only the documentation changes; the docstrings in the package are untouched.
"""

import re

import griffe

ROLE = re.compile(
    r":(?:py:)?(?P<kind>class|meth|func|attr|mod|obj|exc|data):`(?P<target>[^`]+)`"
)
RST_LITERAL = re.compile(r"``([^`]+)``")
ITEM = re.compile(r"^(?P<names>\S.*?) : (?P<type>.*)$")
HYPHENATED = re.compile(r"[A-Za-z]-[A-Za-z]")
NESTED_ITEM = re.compile(r"^ {4}(?P<name>\w+) : (?P<type>.+)$")
# Sections whose entries read "name : type", with the description indented.
TYPED_SECTIONS = {
    "Parameters",
    "Other Parameters",
    "Returns",
    "Yields",
    "Receives",
    "Attributes",
}
SKLEARN_API = "https://scikit-learn.org/stable/modules/generated/{}.html"


class NumpydocForMkdocs(griffe.Extension):
    """Rewrite the docstrings of one package for the API page."""

    def on_package(self, *, pkg, **kwargs):
        documented = dict(_public_objects(pkg))
        known = set(documented)
        for public_path, obj in documented.items():
            if obj.docstring is not None:
                obj.docstring.value = _rewrite(obj.docstring.value, public_path, known)


def _public_objects(pkg):
    """Yield ``(public path, object)`` for what the API page can show."""
    for name in pkg.exports or ():
        target = pkg[name].final_target if pkg[name].is_alias else pkg[name]
        public_path = f"{pkg.path}.{name}"
        yield public_path, target
        yield from _public_members(target, public_path)
    for name, module in pkg.modules.items():
        if not name.startswith("_"):
            yield module.path, module
            yield from _public_members(module, module.path)


def _public_members(obj, public_path):
    for name, member in obj.members.items():
        if name.startswith("_") or member.is_alias or member.is_module:
            continue
        yield f"{public_path}.{name}", member
        if member.is_class:
            yield from _public_members(member, f"{public_path}.{name}")


def _rewrite(text, public_path, known):
    def link(target, kind="obj"):
        return _link(target, kind, public_path, known)

    rewritten = []
    for title, lines in _sections(text.split("\n")):
        if title == "See Also":
            lines = _see_also(lines, link)
        elif title in TYPED_SECTIONS:
            lines = _nested_items(_item_lines(lines))
        rewritten.extend(lines)
    text = "\n".join(rewritten)
    return ROLE.sub(lambda match: link(match["target"], match["kind"]), text)


def _sections(lines):
    """Split into ``(title, lines)``; each section's lines keep its header."""
    starts = [0]
    starts += [
        row
        for row in range(1, len(lines) - 1)
        if lines[row].strip() and _is_underline(lines[row + 1])
    ]
    for start, end in zip(starts, [*starts[1:], len(lines)], strict=True):
        title = lines[start].strip() if start else ""
        yield title, lines[start:end]


def _is_underline(line):
    return bool(line.strip()) and set(line.strip()) == {"-"}


def _item_lines(lines):
    """Rewrite each ``name : type`` line so that its type reads as written."""
    rewritten = lines[:2]
    for line in lines[2:]:
        match = ITEM.match(line)
        if match:
            type_ = ROLE.sub(_shown_name, match["type"])
            type_ = RST_LITERAL.sub(r"\1", type_)
            # Griffe's parser takes a type that opens with "{" for a bare
            # choice list and drops the rest of the line, and reads a type
            # that parses as Python as an expression ("path-like" as a
            # subtraction). A leading space keeps such a type as written.
            as_written = type_.startswith("{") or HYPHENATED.search(type_)
            space = "  " if as_written else " "
            line = f"{match['names']} :{space}{type_}"
        rewritten.append(line)
    return rewritten


def _nested_items(lines):
    """Turn ``name : type`` entries inside a description into a list."""
    rewritten = []
    row = 0
    while row < len(lines):
        match = NESTED_ITEM.match(lines[row])
        following = lines[row + 1] if row + 1 < len(lines) else ""
        if not (match and following.startswith(" " * 8)):
            rewritten.append(lines[row])
            row += 1
            continue
        row += 1
        description = []
        while row < len(lines) and lines[row].startswith(" " * 8):
            description.append(lines[row].strip())
            row += 1
        type_ = ROLE.sub(_shown_name, match["type"])
        rewritten.append(f"    - `{match['name']}` ({type_}): {' '.join(description)}")
    return rewritten


def _see_also(lines, link):
    """Turn a See Also section into a Markdown list of linked names."""
    entries = []
    for line in lines[2:]:
        if not line.strip():
            continue
        if line[0].isspace() and entries:
            entries[-1][1].append(line.strip())
            continue
        names, _, text = line.partition(" : ")
        entries.append((names.strip(), [text.strip()] if text.strip() else []))

    bullets = []
    for names, text in entries:
        links = ", ".join(link(name.strip()) for name in names.split(","))
        bullets.append(f"- {links}: {' '.join(text)}" if text else f"- {links}")
    return [*lines[:2], *bullets, ""]


def _shown_name(match):
    target = match["target"]
    return target.lstrip("~").rsplit(".", 1)[-1] if target.startswith("~") else target


def _link(target, kind, public_path, known):
    short = target.startswith("~")
    target = target.lstrip("~")
    shown = target.rsplit(".", 1)[-1] if short else target
    if kind in {"meth", "func"}:
        shown += "()"
    resolved = _resolve(target, public_path, known)
    if resolved:
        return f"[`{shown}`][{resolved}]"
    if target.startswith("sklearn."):
        return f"[`{shown}`]({SKLEARN_API.format(target)})"
    return f"`{shown}`"


def _resolve(target, public_path, known):
    """Find ``target`` as Sphinx would, from the innermost scope outwards."""
    if target in known:
        return target
    scope = public_path
    while scope:
        candidate = f"{scope}.{target}"
        if candidate in known:
            return candidate
        scope = scope.rpartition(".")[0]
    return None
