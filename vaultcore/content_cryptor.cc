#include "vaultcore/content_cryptor.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <cstring>

#include "vaultcore/crypto.h"

namespace vaultcore {
namespace {

constexpr size_t kGcmNonceSize = 12;
constexpr size_t kGcmTagSize = 16;
constexpr size_t kCtrNonceSize = 16;
constexpr size_t kMacSize = 32;
constexpr size_t kHeaderPayloadSize = 40;  // reserved(8) ‖ content key(32)

int Len(size_t n) { return static_cast<int>(n); }

void PutInt64Be(uint64_t v, uint8_t* out) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<uint8_t>(v);
    v >>= 8;
  }
}

Status CryptoFailure(std::string_view what) {
  ERR_clear_error();
  return Status(Errc::kIo, std::string(what) + " failed in OpenSSL");
}

// One cipher context per thread, reused for every chunk: allocating a
// context costs more than re-keying it.
EVP_CIPHER_CTX* ThreadCipherContext() {
  struct Holder {
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    ~Holder() { EVP_CIPHER_CTX_free(ctx); }
  };
  thread_local Holder holder;
  return holder.ctx;
}

// Fetched once: passing EVP_aes_256_gcm() makes every init look the cipher
// up by name again (measured: ~7 % of a 32 KiB chunk).
const EVP_CIPHER* Gcm() {
  static EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  return cipher;
}

const EVP_CIPHER* Ctr256() {
  static EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "AES-256-CTR", nullptr);
  return cipher;
}

// AES-256-GCM of `in` into `out` with the tag in `tag`.
bool GcmEncrypt(std::span<const uint8_t> key, std::span<const uint8_t> iv,
                std::span<const uint8_t> aad, std::span<const uint8_t> in, uint8_t* out,
                uint8_t* tag) {
  EVP_CIPHER_CTX* ctx = ThreadCipherContext();
  int len = 0;
  return EVP_EncryptInit_ex(ctx, Gcm(), nullptr, key.data(), iv.data()) == 1 &&
         (aad.empty() || EVP_EncryptUpdate(ctx, nullptr, &len, aad.data(), Len(aad.size())) == 1) &&
         (in.empty() || EVP_EncryptUpdate(ctx, out, &len, in.data(), Len(in.size())) == 1) &&
         EVP_EncryptFinal_ex(ctx, out + in.size(), &len) == 1 &&
         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kGcmTagSize, tag) == 1;
}

bool GcmDecrypt(std::span<const uint8_t> key, std::span<const uint8_t> iv,
                std::span<const uint8_t> aad, std::span<const uint8_t> in, const uint8_t* tag,
                uint8_t* out) {
  EVP_CIPHER_CTX* ctx = ThreadCipherContext();
  int len = 0;
  const bool ok =
      EVP_DecryptInit_ex(ctx, Gcm(), nullptr, key.data(), iv.data()) == 1 &&
      (aad.empty() || EVP_DecryptUpdate(ctx, nullptr, &len, aad.data(), Len(aad.size())) == 1) &&
      (in.empty() || EVP_DecryptUpdate(ctx, out, &len, in.data(), Len(in.size())) == 1) &&
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, kGcmTagSize, const_cast<uint8_t*>(tag)) == 1 &&
      EVP_DecryptFinal_ex(ctx, out + in.size(), &len) == 1;
  if (!ok) ERR_clear_error();
  return ok;
}

// AES-256-CTR: the same operation both ways.
bool Ctr(std::span<const uint8_t> key, std::span<const uint8_t> iv, std::span<const uint8_t> in,
         uint8_t* out) {
  EVP_CIPHER_CTX* ctx = ThreadCipherContext();
  int len = 0;
  return EVP_EncryptInit_ex(ctx, Ctr256(), nullptr, key.data(), iv.data()) == 1 &&
         (in.empty() || EVP_EncryptUpdate(ctx, out, &len, in.data(), Len(in.size())) == 1);
}

class GcmCryptor final : public ContentCryptor {
 public:
  explicit GcmCryptor(const MasterKey& key) : key_(key) {}

  CipherCombo combo() const override { return CipherCombo::kSivGcm; }
  size_t header_size() const override { return kGcmNonceSize + kHeaderPayloadSize + kGcmTagSize; }
  size_t nonce_size() const override { return kGcmNonceSize; }
  size_t chunk_overhead() const override { return kGcmNonceSize + kGcmTagSize; }

  Status EncryptHeader(const FileHeader& header, std::span<uint8_t> out) const override {
    uint8_t payload[kHeaderPayloadSize];
    std::memcpy(payload, header.reserved.data(), 8);
    std::memcpy(payload + 8, header.content_key.data(), 32);
    std::memcpy(out.data(), header.nonce.data(), kGcmNonceSize);
    const bool ok =
        GcmEncrypt(key_.enc_key(), {header.nonce.data(), kGcmNonceSize}, {}, payload,
                   out.data() + kGcmNonceSize, out.data() + kGcmNonceSize + kHeaderPayloadSize);
    OPENSSL_cleanse(payload, sizeof payload);
    return ok ? Status::Ok() : CryptoFailure("header encryption");
  }

  Result<FileHeader> DecryptHeader(std::span<const uint8_t> in) const override {
    if (in.size() < header_size()) return Status(Errc::kCorrupt, "file header is truncated");
    FileHeader header;
    uint8_t payload[kHeaderPayloadSize];
    std::memcpy(header.nonce.data(), in.data(), kGcmNonceSize);
    const bool ok = GcmDecrypt(key_.enc_key(), in.first(kGcmNonceSize), {},
                               in.subspan(kGcmNonceSize, kHeaderPayloadSize),
                               in.data() + kGcmNonceSize + kHeaderPayloadSize, payload);
    if (ok) {
      std::memcpy(header.reserved.data(), payload, 8);
      std::memcpy(header.content_key.data(), payload + 8, 32);
    }
    OPENSSL_cleanse(payload, sizeof payload);
    if (!ok) return Status(Errc::kCorrupt, "file header failed authentication");
    return header;
  }

  Status EncryptChunk(const FileHeader& header, uint64_t index, std::span<const uint8_t> cleartext,
                      std::span<uint8_t> out, std::span<const uint8_t> nonce) const override {
    if (nonce.empty()) {
      Status s = PublicRandomBytes(out.first(kGcmNonceSize));
      if (!s.ok()) return s;
    } else {
      std::memcpy(out.data(), nonce.data(), kGcmNonceSize);
    }
    uint8_t aad[8 + kGcmNonceSize];
    PutInt64Be(index, aad);
    std::memcpy(aad + 8, header.nonce.data(), kGcmNonceSize);
    const bool ok =
        GcmEncrypt(header.content_key, out.first(kGcmNonceSize), aad, cleartext,
                   out.data() + kGcmNonceSize, out.data() + kGcmNonceSize + cleartext.size());
    return ok ? Status::Ok() : CryptoFailure("chunk encryption");
  }

  Status DecryptChunk(const FileHeader& header, uint64_t index, std::span<const uint8_t> in,
                      std::span<uint8_t> out) const override {
    if (in.size() < chunk_overhead()) return Status(Errc::kCorrupt, "chunk is truncated");
    uint8_t aad[8 + kGcmNonceSize];
    PutInt64Be(index, aad);
    std::memcpy(aad + 8, header.nonce.data(), kGcmNonceSize);
    const size_t n = in.size() - chunk_overhead();
    if (!GcmDecrypt(header.content_key, in.first(kGcmNonceSize), aad, in.subspan(kGcmNonceSize, n),
                    in.data() + kGcmNonceSize + n, out.data())) {
      return Status(Errc::kCorrupt, "chunk failed authentication");
    }
    return Status::Ok();
  }

 private:
  const MasterKey& key_;
};

class CtrMacCryptor final : public ContentCryptor {
 public:
  explicit CtrMacCryptor(const MasterKey& key) : key_(key) {}

  CipherCombo combo() const override { return CipherCombo::kSivCtrMac; }
  size_t header_size() const override { return kCtrNonceSize + kHeaderPayloadSize + kMacSize; }
  size_t nonce_size() const override { return kCtrNonceSize; }
  size_t chunk_overhead() const override { return kCtrNonceSize + kMacSize; }

  Status EncryptHeader(const FileHeader& header, std::span<uint8_t> out) const override {
    uint8_t payload[kHeaderPayloadSize];
    std::memcpy(payload, header.reserved.data(), 8);
    std::memcpy(payload + 8, header.content_key.data(), 32);
    std::memcpy(out.data(), header.nonce.data(), kCtrNonceSize);
    const bool ok = Ctr(key_.enc_key(), header.nonce, payload, out.data() + kCtrNonceSize);
    OPENSSL_cleanse(payload, sizeof payload);
    if (!ok) return CryptoFailure("header encryption");
    const size_t mac_offset = kCtrNonceSize + kHeaderPayloadSize;
    return Mac({out.first(mac_offset)}, out.subspan(mac_offset, kMacSize));
  }

  Result<FileHeader> DecryptHeader(std::span<const uint8_t> in) const override {
    if (in.size() < header_size()) return Status(Errc::kCorrupt, "file header is truncated");
    const size_t mac_offset = kCtrNonceSize + kHeaderPayloadSize;
    uint8_t mac[kMacSize];
    Status s = Mac({in.first(mac_offset)}, mac);
    if (!s.ok()) return s;
    if (CRYPTO_memcmp(mac, in.data() + mac_offset, kMacSize) != 0) {
      return Status(Errc::kCorrupt, "file header failed authentication");
    }
    FileHeader header;
    uint8_t payload[kHeaderPayloadSize];
    std::memcpy(header.nonce.data(), in.data(), kCtrNonceSize);
    if (!Ctr(key_.enc_key(), header.nonce, in.subspan(kCtrNonceSize, kHeaderPayloadSize),
             payload)) {
      return CryptoFailure("header decryption");
    }
    std::memcpy(header.reserved.data(), payload, 8);
    std::memcpy(header.content_key.data(), payload + 8, 32);
    OPENSSL_cleanse(payload, sizeof payload);
    return header;
  }

  Status EncryptChunk(const FileHeader& header, uint64_t index, std::span<const uint8_t> cleartext,
                      std::span<uint8_t> out, std::span<const uint8_t> nonce) const override {
    if (nonce.empty()) {
      Status s = PublicRandomBytes(out.first(kCtrNonceSize));
      if (!s.ok()) return s;
    } else {
      std::memcpy(out.data(), nonce.data(), kCtrNonceSize);
    }
    if (!Ctr(header.content_key, out.first(kCtrNonceSize), cleartext, out.data() + kCtrNonceSize)) {
      return CryptoFailure("chunk encryption");
    }
    return ChunkMac(header, index, out.first(kCtrNonceSize),
                    out.subspan(kCtrNonceSize, cleartext.size()),
                    out.subspan(kCtrNonceSize + cleartext.size(), kMacSize));
  }

  Status DecryptChunk(const FileHeader& header, uint64_t index, std::span<const uint8_t> in,
                      std::span<uint8_t> out) const override {
    if (in.size() < chunk_overhead()) return Status(Errc::kCorrupt, "chunk is truncated");
    const size_t n = in.size() - chunk_overhead();
    uint8_t mac[kMacSize];
    Status s = ChunkMac(header, index, in.first(kCtrNonceSize), in.subspan(kCtrNonceSize, n), mac);
    if (!s.ok()) return s;
    if (CRYPTO_memcmp(mac, in.data() + kCtrNonceSize + n, kMacSize) != 0) {
      return Status(Errc::kCorrupt, "chunk failed authentication");
    }
    if (!Ctr(header.content_key, in.first(kCtrNonceSize), in.subspan(kCtrNonceSize, n),
             out.data())) {
      return CryptoFailure("chunk decryption");
    }
    return Status::Ok();
  }

 private:
  // HMAC-SHA256 under K_mac over the concatenation of `parts`.
  Status Mac(std::initializer_list<std::span<const uint8_t>> parts, std::span<uint8_t> out) const {
    static EVP_MAC* hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(hmac);
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                           OSSL_PARAM_construct_end()};
    bool ok = ctx != nullptr &&
              EVP_MAC_init(ctx, key_.mac_key().data(), key_.mac_key().size(), params) == 1;
    for (const auto& part : parts) {
      ok = ok && EVP_MAC_update(ctx, part.data(), part.size()) == 1;
    }
    size_t len = 0;
    ok = ok && EVP_MAC_final(ctx, out.data(), &len, kMacSize) == 1;
    EVP_MAC_CTX_free(ctx);
    return ok ? Status::Ok() : CryptoFailure("HMAC");
  }

  Status ChunkMac(const FileHeader& header, uint64_t index, std::span<const uint8_t> chunk_nonce,
                  std::span<const uint8_t> ciphertext, std::span<uint8_t> out) const {
    uint8_t index_be[8];
    PutInt64Be(index, index_be);
    return Mac({header.nonce, index_be, chunk_nonce, ciphertext}, out);
  }

  const MasterKey& key_;
};

}  // namespace

FileHeader::~FileHeader() { OPENSSL_cleanse(content_key.data(), content_key.size()); }

uint64_t ContentCryptor::CiphertextSize(uint64_t cleartext_size) const {
  const uint64_t full = cleartext_size / kCleartextChunkSize;
  const uint64_t rest = cleartext_size % kCleartextChunkSize;
  return header_size() + full * ciphertext_chunk_size() + (rest == 0 ? 0 : rest + chunk_overhead());
}

std::optional<uint64_t> ContentCryptor::CleartextSize(uint64_t ciphertext_size) const {
  if (ciphertext_size == 0) return 0;
  if (ciphertext_size < header_size()) return std::nullopt;
  const uint64_t payload = ciphertext_size - header_size();
  const uint64_t full = payload / ciphertext_chunk_size();
  const uint64_t rest = payload % ciphertext_chunk_size();
  if (rest == 0) return full * kCleartextChunkSize;
  if (rest <= chunk_overhead()) return std::nullopt;
  return full * kCleartextChunkSize + rest - chunk_overhead();
}

Result<FileHeader> ContentCryptor::NewHeader() const {
  FileHeader header;
  Status s = PublicRandomBytes(std::span(header.nonce).first(nonce_size()));
  if (s.ok()) s = RandomBytes(header.content_key);
  if (!s.ok()) return s;
  return header;
}

std::unique_ptr<ContentCryptor> MakeContentCryptor(CipherCombo combo, const MasterKey& key) {
  if (combo == CipherCombo::kSivCtrMac) return std::make_unique<CtrMacCryptor>(key);
  return std::make_unique<GcmCryptor>(key);
}

}  // namespace vaultcore
