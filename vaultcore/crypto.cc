#include "vaultcore/crypto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <pthread.h>

#include <cstring>
#include <memory>
#include <string>

namespace vaultcore {
namespace {

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

struct MacCtxFree {
  void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
};
using MacCtxPtr = std::unique_ptr<EVP_MAC_CTX, MacCtxFree>;

Status OpenSslError(std::string_view what) {
  std::string message(what);
  const unsigned long err = ERR_get_error();
  if (err != 0) {
    char buf[256];
    ERR_error_string_n(err, buf, sizeof buf);
    message += ": ";
    message += buf;
  }
  ERR_clear_error();
  return Status(Errc::kIo, std::move(message));
}

int Len(size_t n) { return static_cast<int>(n); }

// OpenSSL's SIV takes a null input pointer as "finish", not as an empty
// associated-data element: give empty spans a real address.
const uint8_t* NonNull(std::span<const uint8_t> bytes) {
  static const uint8_t kEmpty = 0;
  return bytes.data() != nullptr ? bytes.data() : &kEmpty;
}

// Fetched once: fetching is expensive and the objects are immutable.
EVP_MAC* FetchedMac(const char* name) {
  static EVP_MAC* hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  static EVP_MAC* cmac = EVP_MAC_fetch(nullptr, "CMAC", nullptr);
  return std::string_view(name) == "HMAC" ? hmac : cmac;
}

using Block = std::array<uint8_t, 16>;

constexpr size_t kPublicPoolSize = 4096;

// Bytes [next, kPublicPoolSize) are still unused.
struct PublicPool {
  std::array<uint8_t, kPublicPoolSize> bytes;
  size_t next = kPublicPoolSize;
};

thread_local PublicPool public_pool;

// Runs in the child, on the thread that forked: the only pool it has.
void EmptyPublicPoolInChild() { public_pool.next = kPublicPoolSize; }

Status DrawPublic(std::span<uint8_t> out) {
  if (RAND_bytes(out.data(), Len(out.size())) != 1) return OpenSslError("RAND_bytes");
  return Status::Ok();
}

// Doubling in GF(2^128) as RFC 5297 §2.3 defines it.
Block Dbl(const Block& in) {
  Block out;
  for (size_t i = 0; i < 15; ++i) out[i] = static_cast<uint8_t>(in[i] << 1 | in[i + 1] >> 7);
  out[15] = static_cast<uint8_t>(in[15] << 1);
  if (in[0] & 0x80) out[15] ^= 0x87;
  return out;
}

}  // namespace

Status RandomBytes(std::span<uint8_t> out) {
  if (RAND_priv_bytes(out.data(), Len(out.size())) != 1) return OpenSslError("RAND_priv_bytes");
  return Status::Ok();
}

Status PublicRandomBytes(std::span<uint8_t> out) {
  if (out.empty()) return Status::Ok();  // memcpy must not see its null pointer
  static const bool fork_handled = pthread_atfork(nullptr, nullptr, EmptyPublicPoolInChild) == 0;
  if (!fork_handled || out.size() > kPublicPoolSize / 8) return DrawPublic(out);
  if (kPublicPoolSize - public_pool.next < out.size()) {
    Status s = DrawPublic(public_pool.bytes);
    if (!s.ok()) return s;
    public_pool.next = 0;
  }
  std::memcpy(out.data(), public_pool.bytes.data() + public_pool.next, out.size());
  public_pool.next += out.size();
  return Status::Ok();
}

Status Scrypt(std::span<const uint8_t> password, std::span<const uint8_t> salt, uint64_t n,
              uint32_t r, uint32_t p, std::span<uint8_t> out) {
  // OpenSSL's default cap is 32 MiB, just too little for N = 2^15, r = 8.
  const uint64_t needed = 128ull * r * (n + 2) + 128ull * r * p + (1u << 20);
  if (EVP_PBE_scrypt(reinterpret_cast<const char*>(password.data()), password.size(), salt.data(),
                     salt.size(), n, r, p, needed, out.data(), out.size()) != 1) {
    return OpenSslError("scrypt");
  }
  return Status::Ok();
}

Result<Bytes> AesKeyWrap(std::span<const uint8_t> kek, std::span<const uint8_t> key) {
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  EVP_CIPHER_CTX_set_flags(ctx.get(), EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
  Bytes out(key.size() + 8);
  int len = 0;
  int total = 0;
  if (EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_wrap(), nullptr, kek.data(), nullptr) != 1 ||
      EVP_EncryptUpdate(ctx.get(), out.data(), &len, key.data(), Len(key.size())) != 1) {
    return OpenSslError("AES key wrap");
  }
  total = len;
  if (EVP_EncryptFinal_ex(ctx.get(), out.data() + total, &len) != 1) {
    return OpenSslError("AES key wrap");
  }
  out.resize(total + len);
  return out;
}

Result<SecureBytes> AesKeyUnwrap(std::span<const uint8_t> kek, std::span<const uint8_t> wrapped) {
  if (wrapped.size() < 24 || wrapped.size() % 8 != 0) {
    return Status(Errc::kCorrupt, "wrapped key has an invalid length");
  }
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  EVP_CIPHER_CTX_set_flags(ctx.get(), EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
  SecureBytes out(wrapped.size());  // unwrap may write up to the input length
  int len = 0;
  int final_len = 0;
  if (EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_wrap(), nullptr, kek.data(), nullptr) != 1) {
    return OpenSslError("AES key unwrap");
  }
  if (EVP_DecryptUpdate(ctx.get(), out.data(), &len, wrapped.data(), Len(wrapped.size())) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), out.data() + len, &final_len) != 1) {
    ERR_clear_error();
    return Status(Errc::kCorrupt, "key unwrap integrity check failed");
  }
  return SecureBytes(out.span().first(len + final_len));
}

Result<Bytes> Hmac(std::string_view digest, std::span<const uint8_t> key,
                   std::span<const uint8_t> data) {
  MacCtxPtr ctx(EVP_MAC_CTX_new(FetchedMac("HMAC")));
  std::string digest_name(digest);
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name.data(), 0),
      OSSL_PARAM_construct_end()};
  Bytes out(EVP_MAX_MD_SIZE);
  size_t len = 0;
  if (!ctx || EVP_MAC_init(ctx.get(), key.data(), key.size(), params) != 1 ||
      EVP_MAC_update(ctx.get(), data.data(), data.size()) != 1 ||
      EVP_MAC_final(ctx.get(), out.data(), &len, out.size()) != 1) {
    return OpenSslError("HMAC-" + digest_name);
  }
  out.resize(len);
  return out;
}

HmacSha256::HmacSha256(std::span<const uint8_t> key) : keyed_(EVP_MAC_CTX_new(FetchedMac("HMAC"))) {
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  if (keyed_ == nullptr || EVP_MAC_init(keyed_, key.data(), key.size(), params) != 1) {
    abort();  // as AesSiv: a broken OpenSSL, nothing a caller could handle
  }
}

HmacSha256::~HmacSha256() {
  for (EVP_MAC_CTX* ctx : idle_) EVP_MAC_CTX_free(ctx);
  EVP_MAC_CTX_free(keyed_);
}

Result<Sha256Digest> HmacSha256::Sign(std::span<const uint8_t> data) const {
  MacCtxPtr ctx;
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      ctx.reset(idle_.back());
      idle_.pop_back();
    }
  }
  if (!ctx) ctx.reset(EVP_MAC_CTX_dup(keyed_));
  Sha256Digest out{};
  size_t len = 0;
  // A null key restarts with the key the context already holds.
  if (!ctx || EVP_MAC_init(ctx.get(), nullptr, 0, nullptr) != 1 ||
      EVP_MAC_update(ctx.get(), data.data(), data.size()) != 1 ||
      EVP_MAC_final(ctx.get(), out.data(), &len, out.size()) != 1 || len != out.size()) {
    return OpenSslError("HMAC-SHA256");
  }
  std::lock_guard lock(mutex_);
  idle_.push_back(ctx.release());
  return out;
}

Sha1Digest Sha1(std::span<const uint8_t> data) {
  Sha1Digest out{};
  EVP_Digest(data.data(), data.size(), out.data(), nullptr, EVP_sha1(), nullptr);
  return out;
}

Sha256Digest Sha256(std::span<const uint8_t> data) {
  Sha256Digest out{};
  EVP_Digest(data.data(), data.size(), out.data(), nullptr, EVP_sha256(), nullptr);
  return out;
}

bool ConstantTimeEquals(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// A keyed template context: every call duplicates it instead of re-running
// the key schedule of both halves.
struct AesSiv::Impl {
  EVP_CIPHER* cipher = nullptr;
  EVP_CIPHER_CTX* encrypt_template = nullptr;
  EVP_CIPHER_CTX* decrypt_template = nullptr;
};

AesSiv::AesSiv(std::span<const uint8_t> key) : key_(key), impl_(new Impl) {
  const std::string name = "AES-" + std::to_string(key.size() * 4) + "-SIV";
  impl_->cipher = EVP_CIPHER_fetch(nullptr, name.c_str(), nullptr);
  impl_->encrypt_template = EVP_CIPHER_CTX_new();
  impl_->decrypt_template = EVP_CIPHER_CTX_new();
  if (impl_->cipher == nullptr ||
      EVP_EncryptInit_ex2(impl_->encrypt_template, impl_->cipher, key.data(), nullptr, nullptr) !=
          1 ||
      EVP_DecryptInit_ex2(impl_->decrypt_template, impl_->cipher, key.data(), nullptr, nullptr) !=
          1) {
    // Without SIV nothing in a vault can be named: a wrong key size is a
    // programming error, a missing cipher a broken OpenSSL.
    abort();
  }
}

AesSiv::~AesSiv() {
  EVP_CIPHER_CTX_free(impl_->encrypt_template);
  EVP_CIPHER_CTX_free(impl_->decrypt_template);
  EVP_CIPHER_free(impl_->cipher);
  delete impl_;
}

Result<std::array<uint8_t, AesSiv::kTagSize>> AesSiv::S2vOfEmpty(
    std::span<const std::span<const uint8_t>> associated_data) const {
  MacCtxPtr ctx(EVP_MAC_CTX_new(FetchedMac("CMAC")));
  std::string cipher_name = "AES-" + std::to_string(key_.size() * 4) + "-CBC";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, cipher_name.data(), 0),
      OSSL_PARAM_construct_end()};
  const std::span<const uint8_t> mac_key = key_.first(key_.size() / 2);
  auto cmac = [&](std::span<const uint8_t> data) -> Result<Block> {
    Block out{};
    size_t len = 0;
    if (!ctx || EVP_MAC_init(ctx.get(), mac_key.data(), mac_key.size(), params) != 1 ||
        EVP_MAC_update(ctx.get(), data.data(), data.size()) != 1 ||
        EVP_MAC_final(ctx.get(), out.data(), &len, out.size()) != 1) {
      return OpenSslError("CMAC");
    }
    return out;
  };
  const Block zero{};
  auto d = cmac(zero);
  if (!d.ok()) return d.status();
  Block acc = *d;
  for (const auto& ad : associated_data) {
    auto m = cmac(ad);
    if (!m.ok()) return m.status();
    acc = Dbl(acc);
    for (size_t i = 0; i < 16; ++i) acc[i] ^= (*m)[i];
  }
  // The final input is empty: shorter than a block, so T = dbl(D) xor pad("").
  Block t = Dbl(acc);
  t[0] ^= 0x80;
  return cmac(t);
}

Result<Bytes> AesSiv::Encrypt(std::span<const std::span<const uint8_t>> associated_data,
                              std::span<const uint8_t> plaintext) const {
  if (plaintext.empty()) {
    auto v = S2vOfEmpty(associated_data);
    if (!v.ok()) return v.status();
    return Bytes(v->begin(), v->end());
  }
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  Bytes out(kTagSize + plaintext.size());
  int len = 0;
  if (!ctx || EVP_CIPHER_CTX_copy(ctx.get(), impl_->encrypt_template) != 1) {
    return OpenSslError("AES-SIV init");
  }
  for (const auto& ad : associated_data) {
    if (EVP_EncryptUpdate(ctx.get(), nullptr, &len, NonNull(ad), Len(ad.size())) != 1) {
      return OpenSslError("AES-SIV associated data");
    }
  }
  if (EVP_EncryptUpdate(ctx.get(), out.data() + kTagSize, &len, plaintext.data(),
                        Len(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), out.data() + kTagSize + len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG, kTagSize, out.data()) != 1) {
    return OpenSslError("AES-SIV encrypt");
  }
  return out;
}

Result<Bytes> AesSiv::Decrypt(std::span<const std::span<const uint8_t>> associated_data,
                              std::span<const uint8_t> ciphertext) const {
  if (ciphertext.size() < kTagSize) {
    return Status(Errc::kCorrupt, "SIV ciphertext shorter than its tag");
  }
  const auto tag = ciphertext.first(kTagSize);
  const auto body = ciphertext.subspan(kTagSize);
  if (body.empty()) {
    auto v = S2vOfEmpty(associated_data);
    if (!v.ok()) return v.status();
    if (!ConstantTimeEquals(*v, tag)) return Status(Errc::kCorrupt, "SIV authentication failed");
    return Bytes();
  }
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  Bytes out(body.size());
  int len = 0;
  if (!ctx || EVP_CIPHER_CTX_copy(ctx.get(), impl_->decrypt_template) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, kTagSize,
                          const_cast<uint8_t*>(tag.data())) != 1) {
    return OpenSslError("AES-SIV init");
  }
  for (const auto& ad : associated_data) {
    if (EVP_DecryptUpdate(ctx.get(), nullptr, &len, NonNull(ad), Len(ad.size())) != 1) {
      return OpenSslError("AES-SIV associated data");
    }
  }
  if (EVP_DecryptUpdate(ctx.get(), out.data(), &len, body.data(), Len(body.size())) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), out.data() + len, &len) != 1) {
    ERR_clear_error();
    return Status(Errc::kCorrupt, "SIV authentication failed");
  }
  return out;
}

}  // namespace vaultcore
