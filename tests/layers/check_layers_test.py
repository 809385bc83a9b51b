#!/usr/bin/env python3
"""check_layers.py on small made-up source trees: a clean tree passes, each
kind of leak fails with its include chain, and a file the preprocessor rejects
is an error rather than a pass."""

import argparse
import os
import subprocess
import sys
import tempfile
import unittest

CHECKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "check_layers.py")
COMPILER = "g++"

# The files the rules name, leak-free.
CLEAN = {
    "src/core/util.h": "#pragma once\n#include <string>\n",
    "src/core/util.cpp": '#include "core/util.h"\n',
    "src/source/source.h": '#pragma once\n#include "core/util.h"\n',
    "src/target/target.h": '#pragma once\n#include "core/util.h"\n',
    "src/imap/session.h": "#pragma once\n",
    "src/provision/passwords.h": '#pragma once\n#include "core/util.h"\n',
    "src/provision/provisioner.h": '#pragma once\n#include "core/util.h"\n',
    "src/format/mbox.h": '#pragma once\n#include "core/util.h"\n',
    "src/engine/migrate.h": '#pragma once\n#include "target/target.h"\n',
    "src/engine/migrate.cpp": '#include "engine/migrate.h"\n',
}


class CheckLayers(unittest.TestCase):
    def run_checker(self, changes):
        with tempfile.TemporaryDirectory() as root:
            for path, text in {**CLEAN, **changes}.items():
                full = os.path.join(root, path)
                os.makedirs(os.path.dirname(full), exist_ok=True)
                with open(full, "w", encoding="utf-8") as f:
                    f.write(text)
            done = subprocess.run([sys.executable, CHECKER, "--source-dir", root, "--compiler", COMPILER],
                                  capture_output=True, text=True, check=False)
            return done.returncode, done.stdout, done.stderr

    def test_clean_tree_passes(self):
        rc, out, err = self.run_checker({})
        self.assertEqual(rc, 0, out + err)
        self.assertIn("0 violation(s)", out)

    def test_store_interface_reaching_imap_names_the_chain(self):
        rc, out, _ = self.run_checker({"src/target/target.h": '#pragma once\n#include "core/util.h"\n'
                                                              '#include "target/imap_bits.h"\n',
                                       "src/target/imap_bits.h": '#pragma once\n#include "imap/session.h"\n'})
        self.assertEqual(rc, 1, out)
        self.assertIn("[store interfaces] target/target.h reaches imap/session.h: "
                      "target/target.h -> target/imap_bits.h -> imap/session.h", out)

    def test_store_interface_reaching_a_library_header(self):
        rc, out, _ = self.run_checker({"src/core/util.h": "#pragma once\n#include <curl/curl.h>\n"})
        self.assertEqual(rc, 1, out)
        self.assertIn("source/source.h reaches /usr/include/", out)
        self.assertIn("source/source.h -> core/util.h -> /usr/include/", out)
        self.assertIn("[core] core/util.cpp reaches", out)

    def test_core_reaching_another_layer(self):
        rc, out, _ = self.run_checker({"src/core/util.cpp": '#include "core/util.h"\n#include "source/source.h"\n'})
        self.assertEqual(rc, 1, out)
        self.assertIn("[core] core/util.cpp reaches source/source.h: core/util.cpp -> source/source.h", out)

    def test_format_reaching_another_layer(self):
        rc, out, _ = self.run_checker({"src/format/json.h": '#pragma once\n#include "target/target.h"\n'})
        self.assertEqual(rc, 1, out)
        self.assertIn("[format] format/json.h reaches target/target.h", out)

    def test_engine_reaching_provision_names_the_chain(self):
        rc, out, _ = self.run_checker({"src/engine/migrate.h": '#pragma once\n#include "target/target.h"\n'
                                                               '#include "provision/provisioner.h"\n',
                                       "src/provision/provisioner.h": '#pragma once\n#include "imap/session.h"\n'})
        self.assertEqual(rc, 1, out)
        self.assertIn("[engine] engine/migrate.h reaches provision/provisioner.h: "
                      "engine/migrate.h -> provision/provisioner.h", out)
        self.assertIn("[engine] engine/migrate.cpp reaches provision/provisioner.h", out)

    def test_unreadable_file_is_an_error(self):
        rc, _, err = self.run_checker({"src/core/util.cpp": '#include "core/missing.h"\n'})
        self.assertEqual(rc, 2)
        self.assertIn("missing.h", err)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--compiler", default="g++")
    args, rest = parser.parse_known_args()
    COMPILER = args.compiler
    unittest.main(argv=[sys.argv[0], *rest])
