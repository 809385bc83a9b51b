"""Directory contents for the directory tests: Zarafa-shaped entries of every object
type (users, contacts, groups, companies, servers, address lists, dynamic groups)
with multi-valued, binary, UTF-8, long (folded) and leading-space (base64) values, and
SIMS/NMS-shaped mail entries under a DC tree.  Deterministic for a given seed."""
import random

from servers.slapd import entry_ldif

SERVER_SOCKET = "/var/run/zarafad/server.sock"


def zarafa_entries(suffix, count, seed=7):
    """[(dn, {attr: [values]})]: count entries of mixed types under suffix (plus the
    ou=... containers they live in, which carry no Zarafa data)."""
    rnd = random.Random(seed)
    out = [(f"ou=zarafa,{suffix}", {"objectClass": ["organizationalUnit"], "ou": ["zarafa"]})]
    kinds = ["user", "user", "user", "contact", "group", "company", "server", "addresslist", "dynamicgroup"]
    for i in range(count):
        kind = kinds[i % len(kinds)]
        blob = bytes(rnd.randrange(256) for _ in range(rnd.randrange(16, 600)))
        if kind in ("user", "contact"):
            name = ["Jürgen Müller", "Zoë Ångström", "plain user", "Дмитрий"][i % 4] + f" {i}"
            attrs = {"objectClass": ["inetOrgPerson", f"zarafa-{kind}"], "cn": [name], "sn": [f"sn{i}"],
                     "uid": [f"u{i}"], "mail": [f"u{i}@example.com"],
                     "zarafaAliases": [f"alias{i}a@example.com", f"alias{i}b@example.com"],
                     "zarafaId": [blob], "zarafaSendAsPrivilege": [f"u{i + 1}", f"u{i + 2}"],
                     "zarafaHidden": ["0"]}
            if kind == "user":
                attrs.update({"zarafaAccount": ["1"], "zarafaAdmin": [str(i % 2)], "zarafaQuotaOverride": ["1"],
                              "zarafaQuotaWarn": [str(100 + i)], "zarafaQuotaHard": [str(1000 + i)],
                              "zarafaEnabledFeatures": ["imap", "pop3"], "zarafaPhoto": [blob[::-1]],
                              "zarafaUserServer": ["node1"],
                              "description": [" leading space and a long line " + "x" * 150 + " end"]})
        elif kind == "group":
            name = f"group {i}"
            attrs = {"objectClass": ["groupOfNames", "zarafa-group"], "cn": [name],
                     "member": [f"cn=someone,{suffix}"], "zarafaSecurityGroup": ["1"],
                     "zarafaAliases": [f"g{i}@example.com"], "zarafaId": [blob]}
        elif kind == "company":
            name = f"company{i}"
            attrs = {"objectClass": ["organizationalUnit", "zarafa-company"], "ou": [name],
                     "zarafaViewPrivilege": [f"company{i + 1}", f"company{i + 2}"],
                     "zarafaAdminPrivilege": [f"u{i}"], "zarafaUserDefaultQuotaWarn": ["50"],
                     "zarafaQuotaCompanyWarningRecipients": [f"u{i}", f"u{i + 3}"], "zarafaCompanyServer": ["node1"]}
        elif kind == "server":
            name = f"node{i}"
            attrs = {"objectClass": ["device", "zarafa-server"], "cn": [name], "zarafaHttpPort": ["236"],
                     "zarafaSslPort": ["237"], "zarafaFilePath": [SERVER_SOCKET], "zarafaContainsPublic": ["1"],
                     "zarafaProxyURL": [f"https://{name}.example.com/"]}
        else:
            name = f"{kind}{i}"
            attrs = {"objectClass": ["organizationalRole", f"zarafa-{kind}"], "cn": [name],
                     "zarafaFilter": [f"(&(objectClass=person)(ou={i}))"], "zarafaBase": [suffix],
                     "zarafaHidden": ["1"]}
        rdn = f"ou={name}" if kind == "company" else f"cn={name}"
        out.append((f"{rdn},ou=zarafa,{suffix}", attrs))
    return out


def ldif_of(entries):
    return "\n".join(entry_ldif(dn, attrs) for dn, attrs in entries)


def renamed(attr):
    return "kopano" + attr[len("zarafa"):] if attr.lower().startswith("zarafa") else attr


def expected_after_kopano(attrs):
    """{lower attr: sorted values} the Kopano-shaped entry must have."""
    out = {}
    for attr, values in attrs.items():
        new = renamed(attr)
        vals = []
        for v in values:
            if attr == "objectClass" and v.startswith("zarafa-"):
                v = "kopano-" + v[len("zarafa-"):]
            if attr.lower() == "zarafafilepath":
                v = v.replace(SERVER_SOCKET, "/var/run/kopano/server.sock")
            vals.append(v)
        out[new.lower()] = sorted(map(as_bytes, vals))
    return out


def as_bytes(value):
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


def as_dict(entry, skip=("entryuuid", "entrycsn", "creatorsname", "createtimestamp", "modifiersname",
                         "modifytimestamp", "structuralobjectclass")):
    return {k: sorted(map(as_bytes, v)) for k, v in entry.items() if k not in skip}
