#!/usr/bin/env python3
"""The layer rules of docs/architecture.md, checked on what the preprocessor
actually opens: for every file a rule covers, `g++ -E -H` lists each header it
reaches, nested by depth, so a forbidden header is found however indirectly it
comes in, and the failure names the whole include chain.

Usage: check_layers.py --source-dir DIR [--compile-commands FILE] [--compiler CXX]

The include flags come from compile_commands.json when given and present
(the project's -I/-isystem/-D/-std of the file itself, or of any file of the
project), otherwise from the source tree (-I DIR/src). Exit 0 when every rule
holds, 1 with one line per violation otherwise, 2 when a file cannot be
preprocessed (a check that did not run is not a pass).
"""

import argparse
import concurrent.futures
import json
import os
import shlex
import subprocess
import sys
from dataclasses import dataclass

# Project layers are directories under src/; a few libraries are named by the
# header (or header directory) that brings them in.
ALL_LAYERS = ("cli", "codec", "config", "core", "directory", "engine", "format", "imap", "provision",
              "source", "target")
LDAP = ("ldap.h", "lber.h")
NETWORK_LIBRARIES = ("curl/", "libssh/")


@dataclass
class Rule:
    name: str
    files: list  # globs relative to src/ ("core/**" = every .h/.cpp below core/)
    forbidden_layers: tuple = ()  # "imap" = any header under src/imap/
    forbidden_system: tuple = ()  # "ldap.h" (a file name) or "curl/" (a directory)
    # (includer, included) pairs, both relative to src/, that are tolerated for now.


def others(*layers):
    return tuple(layer for layer in ALL_LAYERS if layer not in layers)


RULES = [
    # The store interfaces are what every layer above sees: nothing of a
    # protocol, of provisioning or of the engine may come with them.
    Rule("store interfaces", ["target/target.h", "source/source.h"],
         forbidden_layers=("imap", "provision", "directory", "engine"),
         forbidden_system=("ldap.h",) + NETWORK_LIBRARIES),
    # core is the bottom: it reaches no other layer (and no network library).
    Rule("core", ["core/**"], forbidden_layers=others("core"),
         forbidden_system=LDAP + NETWORK_LIBRARIES),
    # format/ sits directly on core.
    Rule("format", ["format/**"], forbidden_layers=others("core", "format"),
         forbidden_system=LDAP + NETWORK_LIBRARIES),
    # The engine is protocol-free: it sees sources and targets through their
    # interfaces and receives selected accounts from the command line.
    Rule("engine", ["engine/**"], forbidden_layers=("imap", "provision", "directory"),
         forbidden_system=LDAP + NETWORK_LIBRARIES),
]


def files_of(src, pattern):
    if not pattern.endswith("/**"):
        path = os.path.join(src, pattern)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"rule names {pattern}, which does not exist")
        return [path]
    found = []
    for root, _, names in os.walk(os.path.join(src, pattern[:-3])):
        found += [os.path.join(root, n) for n in names if n.endswith((".h", ".cpp"))]
    return sorted(found)


def flags_from(compile_commands, src):
    """Per-file flags and the flags of any project file, from compile_commands.json."""
    per_file, common = {}, None
    with open(compile_commands, encoding="utf-8") as f:
        entries = json.load(f)
    for entry in entries:
        path = os.path.realpath(os.path.join(entry["directory"], entry["file"]))
        if not path.startswith(src + os.sep):
            continue
        args = entry.get("arguments") or shlex.split(entry["command"])
        kept, i = [], 1
        while i < len(args):
            a = args[i]
            if a in ("-I", "-isystem", "-iquote", "-D", "-include"):
                kept += [a, args[i + 1]]
                i += 2
                continue
            if a.startswith(("-I", "-D", "-std=", "-isystem", "-iquote")):
                kept.append(a)
            i += 1
        per_file[path] = kept
        common = common or kept
    return per_file, common


def include_tree(compiler, flags, path):
    """[(depth, header)] as the preprocessor opened them; raises on an error."""
    language = ["-x", "c++-header"] if path.endswith(".h") else []
    done = subprocess.run([compiler, "-E", "-H", "-o", os.devnull, *flags, *language, path],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{compiler} -E {path} failed:\n{done.stderr.strip()}")
    tree = []
    for line in done.stderr.splitlines():
        dots = len(line) - len(line.lstrip("."))
        if dots == 0 or not line[dots:].startswith(" "):
            continue  # "Multiple include guards may be useful for:" and its list
        tree.append((dots, os.path.realpath(line[dots + 1:])))
    return tree


def name_of(src, path):
    """src-relative for project files, the path itself for others."""
    return os.path.relpath(path, src) if path.startswith(src + os.sep) else path


def forbidden(rule, src, header):
    if header.startswith(src + os.sep):
        layer = os.path.relpath(header, src).split(os.sep)[0]
        return layer in rule.forbidden_layers
    for name in rule.forbidden_system:
        if name.endswith("/") and f"/{name}" in header:
            return True
        if os.path.basename(header) == name:
            return True
    return False


def check_file(rule, src, path, tree):
    """Violations of `rule` in one file's include tree: the first forbidden
    header of each chain (what it includes in turn is its own business)."""
    violations = []
    stack = [path]  # stack[d] is the file at depth d of the chain
    reported_at = None  # depth of the forbidden header whose subtree is being skipped
    for depth, header in tree:
        del stack[depth:]
        parent = stack[-1]
        stack.append(header)
        if reported_at is not None and depth > reported_at:
            continue
        reported_at = None
        if not forbidden(rule, src, header):
            continue
        chain = " -> ".join(name_of(src, p) for p in stack)
        violations.append(f"[{rule.name}] {name_of(src, path)} reaches {name_of(src, header)}: {chain}")
        reported_at = depth
    return violations


def check(rule, src, compiler, per_file, common):
    paths = rule_files(rule, src)
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        trees = pool.map(lambda p: include_tree(compiler, per_file.get(p) or common, p), paths)
        violations = []
        for path, tree in zip(paths, trees):
            violations += check_file(rule, src, path, tree)
    return violations


def rule_files(rule, src):
    files = []
    for pattern in rule.files:
        files += files_of(src, pattern)
    return files


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source-dir", required=True)
    parser.add_argument("--compile-commands", default="")
    parser.add_argument("--compiler", default=os.environ.get("CXX", "g++"))
    args = parser.parse_args()
    src = os.path.realpath(os.path.join(args.source_dir, "src"))

    per_file, common = {}, None
    if args.compile_commands and os.path.isfile(args.compile_commands):
        per_file, common = flags_from(args.compile_commands, src)
    if not common:
        common = ["-std=c++20", "-I", src]

    violations, checked = [], 0
    try:
        for rule in RULES:
            violations += check(rule, src, args.compiler, per_file, common)
            checked += len(rule_files(rule, src))
    except (RuntimeError, FileNotFoundError) as e:
        print(f"check_layers: {e}", file=sys.stderr)
        return 2
    for v in violations:
        print(v)
    print(f"check_layers: {checked} files, {len(violations)} violation(s)")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
