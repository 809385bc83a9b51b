#pragma once

#include <string>
#include <string_view>

#include "core/byte_reader.h"

namespace mailmig {

// Incremental SHA-256 (OpenSSL EVP); hex() finishes and returns lowercase hex.
class Sha256 {
 public:
  Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  ~Sha256();
  void update(std::string_view data);
  std::string hex();

 private:
  void* ctx_;  // EVP_MD_CTX*, kept opaque so OpenSSL headers stay out of ours
};

// Hashes everything a reader yields.
std::string sha256_of(ByteReader& reader);

}  // namespace mailmig
