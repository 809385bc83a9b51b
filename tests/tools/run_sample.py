#!/usr/bin/env python3
"""The README's main job on the embedded default: show the overview of the
sample CommuniGate store, migrate it with cg2kms into a private Dovecot (behind
the Kerio master-auth test front end and the Kerio admin API test server, both
test stand-ins, NOT Kerio), then read every message back and verify it against
the generator's manifest."""
import argparse
import os
import subprocess
import sys
import shutil
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import imap_readback as rb  # noqa: E402
from servers.dovecot import PrivateDovecot  # noqa: E402
from servers.kerio_admin_api import KerioAdminApiWithDovecot  # noqa: E402
from servers.kerio_imap_frontend import KerioImapTestFrontend  # noqa: E402

MASTER = "Sample#Master1"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin-dir", required=True)
    parser.add_argument("--store", required=True)
    parser.add_argument("--manifest", required=True)
    parser.add_argument("--run-dir", required=True, help="where cg2kms writes its .pass, .log and state (emptied first)")
    args = parser.parse_args()
    args.store = os.path.abspath(args.store)
    import json
    manifest = json.load(open(args.manifest, encoding="utf-8"))
    cg2kms = os.path.join(os.path.abspath(args.bin_dir), "cg2kms")

    print("== Overview (cg2kms -path STORE)\n", flush=True)
    subprocess.run([cg2kms, "-path", args.store], check=True)

    with PrivateDovecot() as dovecot, KerioImapTestFrontend(dovecot, MASTER) as kerio, \
            KerioAdminApiWithDovecot(dovecot, admin_user="Admin", admin_password=MASTER,
                                     domains=[d["name"] for d in manifest["domains"]]) as api:
        run_dir = os.path.abspath(args.run_dir)
        shutil.rmtree(run_dir, ignore_errors=True)
        os.makedirs(run_dir)
        print(f"\n== Migration (cg2kms -path STORE -migrate -force -server 127.0.0.1 -port {kerio.port} "
              f"-password ***) into a private Dovecot; files in {run_dir}\n", flush=True)
        proc = subprocess.run([cg2kms, "-path", args.store, "-migrate", "-force", "-server", "127.0.0.1", "-port",
                               str(kerio.port), "-password", MASTER, "-adminUrl", api.url, "-caFile", api.ca_file,
                               "-state", os.path.join(run_dir, "state")], cwd=run_dir)
        if proc.returncode != 0:
            print(f"cg2kms exited with {proc.returncode}", file=sys.stderr)
            return proc.returncode

        print("\n== Verification: every message read back over IMAP (SHA-256, flags, INTERNALDATE)\n", flush=True)
        checker = unittest.TestCase()
        checker.maxDiff = None
        messages = folders = 0
        for d in manifest["domains"]:
            for a in d["accounts"]:
                user = f'{a["name"]}@{d["name"]}'
                imap = dovecot.login_master(user)
                try:
                    rb.compare_account(checker, imap, a, user)
                finally:
                    imap.logout()
                n = sum(len(f.get("list", [])) for f in a["folders"] if f["selectable"])
                k = sum(1 for f in a["folders"] if f["selectable"])
                messages += n
                folders += k
                print(f"  {user:<32} {k:>3} folders {n:>5} messages identical")
        print(f"\nverified: {messages} messages in {folders} folders of "
              f"{sum(len(d['accounts']) for d in manifest['domains'])} accounts, all identical")
    return 0


if __name__ == "__main__":
    sys.exit(main())
