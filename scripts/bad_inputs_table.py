#!/usr/bin/python3
"""The table of bad inputs in docs/reliability.md, from tests/e2e/bad_inputs.tsv.

  bad_inputs_table.py                 print the Markdown table (id, command, error, hint)
  bad_inputs_table.py --check FILE    exit 1, with a diff, unless the table between the lines
                                      <!-- bad-inputs:begin --> and <!-- bad-inputs:end -->
                                      of FILE is the one printed
  bad_inputs_table.py --update FILE   put the printed table between those lines of FILE

--tsv PATH reads another table file. The TSV's own header comment describes its columns;
tests/e2e/bad_inputs_test.sh runs every row.
"""

import argparse
import difflib
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_TSV = ROOT / "tests" / "e2e" / "bad_inputs.tsv"
BEGIN = "<!-- bad-inputs:begin -->"
END = "<!-- bad-inputs:end -->"
COLUMNS = ("id", "as", "exit", "args", "fixture", "setup", "error", "hint")


class TableError(Exception):
    pass


def read_rows(path):
    """The rows of the TSV as dicts, checked: 8 columns, unique ids, known `as` values."""
    rows = []
    seen = {}
    text = pathlib.Path(path).read_text(encoding="utf-8")
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.split("\t")
        where = f"{path}:{n}"
        if len(cols) != len(COLUMNS):
            raise TableError(f"{where}: {len(cols)} tab-separated columns, want {len(COLUMNS)}")
        row = dict(zip(COLUMNS, cols))
        if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", row["id"]):
            raise TableError(f"{where}: id '{row['id']}' is not lower-case words joined by '-'")
        if row["id"] in seen:
            raise TableError(f"{where}: id '{row['id']}' is already used on line {seen[row['id']]}")
        seen[row["id"]] = n
        if not (row["as"] in ("any", "root", "nobody") or row["as"].startswith("caps:")):
            raise TableError(f"{where}: 'as' is '{row['as']}', not any, root, nobody or caps:SET")
        if not row["exit"].isdigit() or int(row["exit"]) == 0:
            raise TableError(f"{where}: exit '{row['exit']}' is not a non-zero status")
        if not row["error"].startswith("kscope: error: "):
            raise TableError(f"{where}: the error does not start with 'kscope: error: '")
        if not row["hint"].startswith("hint: "):
            raise TableError(f"{where}: the hint does not start with 'hint: '")
        rows.append(row)
    if not rows:
        raise TableError(f"{path}: no rows")
    return rows


def code(text):
    """TEXT as a Markdown code span that may sit in a table cell."""
    text = text.replace("|", "\\|")
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    if longest or text.startswith(" ") and text.endswith(" "):
        return f"{fence} {text} {fence}"
    return f"{fence}{text}{fence}"


def who(as_):
    if as_ == "root":
        return "as root"
    if as_ == "nobody":
        return "as user nobody"
    if as_.startswith("caps:"):
        caps = [c[1:] for c in as_[len("caps:"):].split(",") if c.startswith("+")]
        return "with only " + ", ".join("CAP_" + c.upper() for c in caps)
    return ""


def command_cell(row):
    parts = [code(("kscope " + row["args"]).rstrip())]
    if row["fixture"] != "-":
        lines = [ln for ln in row["fixture"].split("\\n") if ln != ""]
        parts.append("c.yaml: " + " / ".join(code(ln) for ln in lines))
    if row["setup"] != "-":
        parts.append("after " + code(row["setup"]))
    extra = who(row["as"])
    if extra:
        parts.append(extra)
    return "; ".join(parts)


def render(rows):
    out = ["| id | command | error | hint |", "|---|---|---|---|"]
    for row in rows:
        error = row["error"][len("kscope: error: "):]
        hint = row["hint"][len("hint: "):]
        out.append(f"| {row['id']} | {command_cell(row)} | {code(error)} | {code(hint)} |")
    return "\n".join(out) + "\n"


def split_doc(path):
    """FILE's text before the table, the table, and after it; the markers stay outside."""
    text = pathlib.Path(path).read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    begins = [i for i, ln in enumerate(lines) if ln.strip() == BEGIN]
    ends = [i for i, ln in enumerate(lines) if ln.strip() == END]
    if len(begins) != 1 or len(ends) != 1 or ends[0] < begins[0]:
        raise TableError(f"{path}: want one line {BEGIN} and, after it, one line {END}")
    b, e = begins[0], ends[0]
    return "".join(lines[: b + 1]), "".join(lines[b + 1 : e]), "".join(lines[e:])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tsv", default=str(DEFAULT_TSV), help="the table file (default: %(default)s)")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--check", metavar="FILE", help="verify the table in FILE")
    mode.add_argument("--update", metavar="FILE", help="rewrite the table in FILE")
    args = ap.parse_args()
    try:
        table = render(read_rows(args.tsv))
        if args.check:
            _, current, _ = split_doc(args.check)
            if current.strip("\n") == table.strip("\n"):
                print(f"{args.check}: the bad-inputs table matches {args.tsv}")
                return 0
            diff = difflib.unified_diff(
                current.strip("\n").splitlines(keepends=False),
                table.strip("\n").splitlines(keepends=False),
                f"{args.check} (now)", f"{args.tsv} (rendered)", lineterm="")
            print("\n".join(diff), file=sys.stderr)
            print(f"error: the table in {args.check} differs from {args.tsv}; "
                  f"fix it with: {sys.argv[0]} --update {args.check}", file=sys.stderr)
            return 1
        if args.update:
            before, _, after = split_doc(args.update)
            pathlib.Path(args.update).write_text(before + table + after, encoding="utf-8")
            return 0
        sys.stdout.write(table)
        return 0
    except (TableError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
