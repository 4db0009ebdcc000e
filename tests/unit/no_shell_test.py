#!/usr/bin/env python3
"""Checks that kscope never runs a program: no shell and no exec in the product's sources
(cli/, collector/, exporters/), so no user input can ever become a command line. Scans for
calls, with arguments, of system, popen, the exec family and posix_spawn, and for "/bin/sh"
or "sh -c" strings. (A fork without an exec, as the TC feature check's child in a private
network namespace, runs no program.) Comments are ignored; tests and testprogs are not
scanned.
Usage: no_shell_test.py REPO_DIR
"""
import pathlib
import re
import sys

CALLS = re.compile(r'(?<![\w.>:])(?:std::|::)?(system|popen|execl|execlp|execle|execv|execvp|execvpe|'
                   r'execve|execveat|fexecve|posix_spawnp?)\s*\(\s*[^)\s]')
SHELLS = re.compile(r'"[^"\n]*(?:/bin/sh|\bsh -c\b|/bin/bash)[^"\n]*"')
COMMENT = re.compile(r'//.*?$|/\*.*?\*/', re.S | re.M)
SOURCES = {".h", ".hpp", ".cpp", ".cc", ".c"}


def check(repo: pathlib.Path) -> list[str]:
    errors = []
    for top in ("cli", "collector", "exporters"):
        for path in sorted((repo / top).rglob("*")):
            if not path.is_file() or path.suffix not in SOURCES:
                continue
            text = COMMENT.sub(lambda m: "\n" * m.group(0).count("\n"), path.read_text())
            for n, line in enumerate(text.splitlines(), 1):
                for pattern in (CALLS, SHELLS):
                    m = pattern.search(line)
                    if m:
                        errors.append(f"{path.relative_to(repo)}:{n}: {m.group(0).strip()}")
    return errors


def main() -> int:
    repo = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    errors = check(repo)
    for e in errors:
        print(f"no_shell: {e}: kscope runs no program (docs/security.md)", file=sys.stderr)
    if not errors:
        print("no_shell: no call of system, popen, exec* or posix_spawn, and no shell string, in "
              "cli/, collector/ and exporters/")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
