// PublicRandomBytes: random bytes for values that are written out in the
// clear (nonces, salts, directory ids, the write verifier), drawn from a
// small per-thread pool that OpenSSL's CSPRNG refills.
//
// OpenSSL 3.0's RAND_bytes costs about 1 µs a call whatever its size, and
// the server draws a 12-byte nonce for every chunk it encrypts: three
// calls per CREATE and 32 per MiB written were 8 % of the workers' time
// in CREATEs (bench/RESULTS.md, step 33). A pool of 4 KiB makes a nonce
// cost a copy.
//
// Secrets (keys) never come from here: RandomBytes (crypto.h) draws them
// from OpenSSL's private generator, so no key is ever held in advance.
// Every byte is handed out once. A child process forked by a thread that
// has a pool starts with an empty one, so parent and child never draw the
// same bytes.
#pragma once

#include <cstdint>
#include <span>

#include "vaultcore/status.h"

namespace vaultcore {

Status PublicRandomBytes(std::span<uint8_t> out);

}  // namespace vaultcore
