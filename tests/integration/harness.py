"""Shared helpers for the integration tests: command-line arguments, running
the binaries, generating stores, and snapshotting a tree to prove it is
unchanged."""
import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

ARGS = None


def parse_args():
    """Takes --bin-dir/--tools (ctest passes them; the server self-tests do not need
    them) and returns the argument list for unittest: only what it understands
    (-v, -q, -f, -k PATTERN, test names)."""
    global ARGS
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--bin-dir")
    parser.add_argument("--tools")
    ARGS, rest = parser.parse_known_args()
    # Tests run binaries from other working directories.
    ARGS.bin_dir = os.path.abspath(ARGS.bin_dir) if ARGS.bin_dir else None
    ARGS.tools = os.path.abspath(ARGS.tools) if ARGS.tools else None
    argv = [sys.argv[0]]
    i = 0
    while i < len(rest):
        arg = rest[i]
        if arg == "-k" and i + 1 < len(rest):
            argv += rest[i:i + 2]
            i += 1
        elif arg in ("-v", "-q", "-f") or not arg.startswith("-"):
            argv.append(arg)
        i += 1
    return argv


def main():
    argv = parse_args()
    # The default state lives outside the working directory, per target
    # (/var/lib/mailmig as root): give this test process its own, so test
    # servers that reuse a port never meet another test's state.
    home = tempfile.mkdtemp(prefix="mailmig-state-home-")
    os.environ["MAILMIG_STATE_HOME"] = home
    try:
        program = unittest.main(argv=argv, verbosity=2, exit=False)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    # A skipped test proves nothing: it fails the run. The one allowed skip is a
    # test whose reason starts with ROOT_ONLY, when not run as root (a developer's
    # account); CI and the README's test command run as root.
    skipped = [(test.id(), why) for test, why in program.result.skipped
               if not (os.geteuid() != 0 and why.startswith(ROOT_ONLY))]
    for test_id, why in skipped:
        print(f"FAIL (skipped, which counts as a failure): {test_id}: {why}", file=sys.stderr)
    sys.exit(0 if program.result.wasSuccessful() and not skipped else 1)


ROOT_ONLY = "needs root"


def binary(name):
    if ARGS is None or ARGS.bin_dir is None:
        raise RuntimeError("this test needs --bin-dir (the directory holding mailmig)")
    return os.path.join(ARGS.bin_dir, name)


def run(name, *args, check=None, env=None, **kw):
    """Runs a binary; returns CompletedProcess with text stdout/stderr."""
    proc = subprocess.run([binary(name), *args], capture_output=True, text=True, env=env, **kw)
    if check is not None and proc.returncode != check:
        raise AssertionError(
            f"{name} {' '.join(args)}: exit {proc.returncode}, expected {check}\n"
            f"stdout:\n{proc.stdout[-4000:]}\nstderr:\n{proc.stderr[-4000:]}")
    return proc


def sanitized():
    """True when the binaries run under ASan/UBSan (the asan test preset sets
    ASAN_OPTIONS): ASan keeps freed memory in quarantine and shadow memory, so
    peak-RSS bounds hold only for the release build, where they are asserted."""
    return bool(os.environ.get("ASAN_OPTIONS"))


def run_measured(name, *args, check=None, env=None, **kw):
    """run() that also returns the peak RSS (KiB) of exactly that process, from
    GNU time (Debian package "time", installed by scripts/setup)."""
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        proc = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss.name, binary(name), *args],
                              capture_output=True, text=True, env=env, **kw)
        peak_kb = int(rss.read().strip().splitlines()[-1])
    if check is not None and proc.returncode != check:
        raise AssertionError(f"{name} {' '.join(args)}: exit {proc.returncode}, expected {check}\n"
                             f"stdout:\n{proc.stdout[-4000:]}\nstderr:\n{proc.stderr[-4000:]}")
    return proc, peak_kb


def make_tempdir(testcase):
    path = tempfile.mkdtemp(prefix="mailmig-it-")
    os.chmod(path, 0o755)
    testcase.addCleanup(shutil.rmtree, path, ignore_errors=True)
    return path


def start_dovecot_with_master(cls, prefix):
    """For a setUpClass: a class-wide work directory (cls.work), a private
    Dovecot (cls.imap) and its master password in a 0600 file (cls.master);
    removed and stopped when the class is done."""
    from servers.dovecot import PrivateDovecot  # servers/ is found through this file's folder
    cls.work = tempfile.mkdtemp(prefix=prefix)
    os.chmod(cls.work, 0o755)
    cls.addClassCleanup(shutil.rmtree, cls.work, ignore_errors=True)
    cls.imap = PrivateDovecot()
    cls.imap.start()
    cls.addClassCleanup(cls.imap.stop)
    cls.master = os.path.join(cls.work, "master.pw")
    with open(cls.master, "w") as f:
        f.write(cls.imap.master_password + "\n")
    os.chmod(cls.master, 0o600)


def generate_store(workdir, profile="test", seed=1, extra=()):
    """Writes a store with the project's generator; returns (store path, manifest dict)."""
    store = os.path.join(workdir, f"store-{profile}-{seed}")
    manifest = store + ".manifest.json"
    subprocess.run([sys.executable, os.path.join(ARGS.tools, "gen_cgp_store.py"), "--out", store,
                    "--profile", profile, "--seed", str(seed), "--manifest", manifest, *extra],
                   check=True, capture_output=True, text=True)
    with open(manifest, encoding="utf-8") as f:
        return store, json.load(f)


def tree_snapshot(root):
    """Every path under root with type, mode, size, mtime and content hash (no symlink following)."""
    snap = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in sorted(dirnames + filenames):
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            entry = (st.st_mode, st.st_size, st.st_mtime_ns)
            if os.path.islink(path):
                entry += (os.readlink(path),)
            elif os.path.isfile(path):
                h = hashlib.sha256()
                with open(path, "rb") as f:
                    for chunk in iter(lambda: f.read(1 << 20), b""):
                        h.update(chunk)
                entry += (h.hexdigest(),)
            snap[os.path.relpath(path, root)] = entry
    return snap
