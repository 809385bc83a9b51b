// --provision dovecot:FILE -- users as lines of a Dovecot passwd-file:
//   user:{SCHEME}hash:uid:gid:gecos:home:shell:extra_fields
// New lines carry only the user ("account@domain", lowercase) and the
// password ("name:{SCHEME}hash::::::" -- the empty uid/gid fields let a
// passwd-file userdb fall back to its defaults); every existing line, comment
// and blank line stays byte-identical. The file is rewritten atomically
// (temporary file in the same directory, fsync, rename), under a mutex and an
// flock on "<file>.lock", so threads and processes never interleave and no
// reader ever sees a half-written file. Rewriting the whole file per user is
// O(users) each; fine for the thousands of users a passwd-file is meant for.
//
// create() keeps the source's hash whenever dovecot_kept_hash() accepts it,
// whatever `NewUser::password` says: a caller whose password must win (e.g.
// -forceSetPass) passes an empty `source_password`. When the hash is kept,
// Created::kept_source_hash is true and `password` was not set.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "provision/provisioner.h"

namespace mailmig {

std::unique_ptr<Provisioner> make_dovecot_provisioner(const std::string& file,
                                                      const ProvisionOptions& options);

// The passwd-file password field that keeps the source's own hash, when
// Dovecot understands its scheme; nullopt otherwise (the caller then hashes
// the chosen plain password with {SHA512-CRYPT}):
//   CommuniGate "U-crpt<crypt(3) string>"         -> {CRYPT}<crypt string>
//   bare "$1$..." "$5$..." "$6$..." "$2y$..." ...  -> {CRYPT}<as is>
//   {CRYPT} {MD5-CRYPT} {SHA256-CRYPT} {SHA512-CRYPT} {BLF-CRYPT} with a crypt string -> as is
//   {SHA} {SHA1} {SSHA} {SHA256} {SSHA256} {SHA512} {SSHA512} {SMD5}
//   {PLAIN-MD5} {LDAP-MD5} with base64 or hex data -> as is
//   {MD5}: "$1$..." (Dovecot's MD5 = MD5-CRYPT) -> as is; a base64 or hex
//   digest (RFC 2307 / LDAP meaning)          -> {LDAP-MD5}<digest>
//   anything else (A-crpt, other -crpt tags, unknown or malformed) -> nullopt
// A crypt(3) string counts only when this host's libcrypt accepts it and
// reproduces its shape (so Dovecot's {CRYPT}, which calls the same crypt(3),
// can verify it). Scheme names are written in upper case.
std::optional<std::string> dovecot_kept_hash(const PasswordInfo& source);

// "{SHA512-CRYPT}$6$<random salt>$<hash>" of `password` (libcrypt, salt
// from RAND_bytes). Throws ProvisionError.
std::string dovecot_sha512_crypt(const std::string& password);

}  // namespace mailmig
