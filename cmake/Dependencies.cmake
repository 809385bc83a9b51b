# Every dependency comes from Debian packages installed by scripts/setup.
find_package(PkgConfig REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(CLI11 REQUIRED)
find_package(Threads REQUIRED)
find_package(SQLiteCpp REQUIRED)
find_package(ICU REQUIRED COMPONENTS uc)
pkg_check_modules(LIBSSH REQUIRED IMPORTED_TARGET libssh)  # maildir+ssh:// (SFTP)  # --lowercase of non-ASCII names
if(MAILMIG_TESTS)
  find_package(GTest REQUIRED)
endif()
