// Creates users in Kerio Connect through its Administration API: JSON-RPC 2.0
// over HTTPS at https://HOST:4040/admin/api/jsonrpc/ (docs/protocols.md#kerio-administration-api).
//
//   Session.login {userName, password, application} -> token; later calls send
//   the token as X-Token and the session cookies from login's Set-Cookie.
//   Domains.get (name Eq DOMAIN)               -> the domain id (cached)
//   Users.get (loginName Eq ACCOUNT, domainId)  -> exists()
//   Users.create {users:[{loginName, fullName, password, domainId,
//                 authType:0, isEnabled:true}]} -> create(); errors[] refused
//   Session.logout                             -> finish()
//
// Logs in on first use. One keep-alive connection, guarded by a mutex: the
// engine calls from several worker threads. Passwords never appear in errors
// or logs.
#pragma once

#include <memory>
#include <string>

#include "provision/provisioner.h"

namespace mailmig {

// url: https://HOST[:PORT][/admin/api/jsonrpc/] (default port 4040). http:// is
// accepted only for a loopback host (test servers). Uses admin_user,
// admin_password, ca_file and insecure from `options`. Throws
// std::invalid_argument for a bad URL or missing admin credentials; connects
// only when first used.
std::unique_ptr<Provisioner> make_kerio_provisioner(const std::string& url, const ProvisionOptions& options);

}  // namespace mailmig
