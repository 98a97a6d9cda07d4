// Microbenchmarks of vaultcore's hot paths:
//   - one 32 KiB content chunk through ContentCryptor (both cipher combos),
//     plus a bare OpenSSL AES-256-GCM reference doing the same AEAD work
//     with a context keyed once (the floor vaultcore's chunk path can reach);
//   - 1 MiB read / write through EncryptedFile on a temporary file
//     (page-cache I/O plus crypto);
//   - AES-SIV name encryption and decryption;
//   - listing the fixture vault `main` (whole tree, and /many alone);
//   - unlocking that vault (scrypt N=32768, r=8).
//
// The fixtures are found in ../shared next to the source tree, or in
// $VAULTNFS_SHARED. Run in Release; crypto-baseline.sh compares the GCM
// figures with `openssl speed`.
#include <benchmark/benchmark.h>
#include <openssl/evp.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "tests/testing.h"
#include "vaultcore/content_cryptor.h"
#include "vaultcore/crypto.h"
#include "vaultcore/encrypted_file.h"
#include "vaultcore/masterkey.h"
#include "vaultcore/name_cipher.h"
#include "vaultcore/vault.h"

namespace {

using vaultcore::CipherCombo;
using vaultcore::ContentCryptor;
using vaultcore::EncryptedFile;
using vaultcore::kCleartextChunkSize;
using vaultcore::MasterKey;
using vaultcore::Vault;

constexpr size_t kMiB = 1024 * 1024;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "vaultcore_bench: %s\n", what.c_str());
  std::exit(2);
}

template <typename T>
T Must(vaultcore::Result<T> result, const std::string& what) {
  if (!result.ok()) Die(what + ": " + result.status().ToString());
  return std::move(result).value();
}

void Must(const vaultcore::Status& status, const std::string& what) {
  if (!status.ok()) Die(what + ": " + status.ToString());
}

std::vector<uint8_t> RandomBuffer(size_t size) {
  std::vector<uint8_t> buffer(size);
  Must(vaultcore::RandomBytes(buffer), "RandomBytes");
  return buffer;
}

struct Fixture {
  std::string path;
  std::string password;
};

// The fixture vault `main` and its password (from main.json next to it).
const Fixture& MainVaultFixture() {
  static const Fixture fixture = [] {
    const auto vaults = vaultnfs::testing::FixturesDir() / "vaults";
    std::ifstream in(vaults / "main.json");
    if (!in.good()) Die("cannot read " + (vaults / "main.json").string());
    const auto manifest = nlohmann::json::parse(in);
    return Fixture{(vaults / "main").string(), manifest.at("password").get<std::string>()};
  }();
  return fixture;
}

// The fixture vault, unlocked read-only once per process: the listing
// benchmarks time List, not scrypt.
const Vault& MainVault() {
  static const std::unique_ptr<Vault> vault = [] {
    const Fixture& f = MainVaultFixture();
    return Must(Vault::Open(f.path, f.password, {.read_only = true}), "open " + f.path);
  }();
  return *vault;
}

const MasterKey& BenchKey() {
  static const MasterKey key = Must(MasterKey::Generate(), "MasterKey::Generate");
  return key;
}

// --- Content chunks --------------------------------------------------------

void ChunkEncrypt(benchmark::State& state, CipherCombo combo) {
  const auto cryptor = vaultcore::MakeContentCryptor(combo, BenchKey());
  const auto header = Must(cryptor->NewHeader(), "NewHeader");
  const auto cleartext = RandomBuffer(kCleartextChunkSize);
  std::vector<uint8_t> out(cryptor->ciphertext_chunk_size());
  uint64_t index = 0;
  for ([[maybe_unused]] auto _ : state) {
    // A fresh random nonce per chunk, as every real write does.
    if (!cryptor->EncryptChunk(header, index++, cleartext, out).ok()) {
      state.SkipWithError("EncryptChunk failed");
      break;
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kCleartextChunkSize));
}

void ChunkDecrypt(benchmark::State& state, CipherCombo combo) {
  const auto cryptor = vaultcore::MakeContentCryptor(combo, BenchKey());
  const auto header = Must(cryptor->NewHeader(), "NewHeader");
  const auto cleartext = RandomBuffer(kCleartextChunkSize);
  std::vector<uint8_t> ciphertext(cryptor->ciphertext_chunk_size());
  Must(cryptor->EncryptChunk(header, 7, cleartext, ciphertext), "EncryptChunk");
  std::vector<uint8_t> out(kCleartextChunkSize);
  for ([[maybe_unused]] auto _ : state) {
    if (!cryptor->DecryptChunk(header, 7, ciphertext, out).ok()) {
      state.SkipWithError("DecryptChunk failed");
      break;
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kCleartextChunkSize));
}

void BM_GcmChunkEncrypt(benchmark::State& state) { ChunkEncrypt(state, CipherCombo::kSivGcm); }
void BM_GcmChunkDecrypt(benchmark::State& state) { ChunkDecrypt(state, CipherCombo::kSivGcm); }
void BM_CtrMacChunkEncrypt(benchmark::State& state) {
  ChunkEncrypt(state, CipherCombo::kSivCtrMac);
}
void BM_CtrMacChunkDecrypt(benchmark::State& state) {
  ChunkDecrypt(state, CipherCombo::kSivCtrMac);
}
BENCHMARK(BM_GcmChunkEncrypt);
BENCHMARK(BM_GcmChunkDecrypt);
BENCHMARK(BM_CtrMacChunkEncrypt);
BENCHMARK(BM_CtrMacChunkDecrypt);

// The fresh 12-byte chunk nonce every GCM EncryptChunk draws from
// OpenSSL's DRBG: part of BM_GcmChunkEncrypt's per-chunk overhead.
void BM_RandomNonce12(benchmark::State& state) {
  uint8_t nonce[12];
  for ([[maybe_unused]] auto _ : state) {
    if (!vaultcore::RandomBytes(nonce).ok()) {
      state.SkipWithError("RandomBytes failed");
      break;
    }
    benchmark::DoNotOptimize(nonce);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_RandomNonce12);

// Reference: the same AEAD work per chunk as vaultcore's GCM path (new
// 12-byte IV, 20 bytes of AAD, 32 KiB, tag) straight on OpenSSL, with the
// cipher fetched once and the context keyed once. The nonce is a counter,
// not RAND_bytes. The gap between this and BM_GcmChunk* is vaultcore's
// per-chunk overhead; the gap between this and `openssl speed` is GCM's
// per-message cost.
class RawGcm {
 public:
  RawGcm(std::span<const uint8_t> key, bool encrypt) : encrypt_(encrypt) {
    cipher_ = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
    ctx_ = EVP_CIPHER_CTX_new();
    if (cipher_ == nullptr || ctx_ == nullptr ||
        EVP_CipherInit_ex(ctx_, cipher_, nullptr, key.data(), nullptr, encrypt ? 1 : 0) != 1) {
      Die("OpenSSL AES-256-GCM setup failed");
    }
  }
  ~RawGcm() {
    EVP_CIPHER_CTX_free(ctx_);
    EVP_CIPHER_free(cipher_);
  }
  RawGcm(const RawGcm&) = delete;
  RawGcm& operator=(const RawGcm&) = delete;

  // One message under a new IV. `tag` is written when encrypting and
  // checked when decrypting.
  bool Run(std::span<const uint8_t> iv, std::span<const uint8_t> aad, std::span<const uint8_t> in,
           uint8_t* out, uint8_t* tag) {
    int n = 0;
    if (EVP_CipherInit_ex(ctx_, nullptr, nullptr, nullptr, iv.data(), -1) != 1 ||
        EVP_CipherUpdate(ctx_, nullptr, &n, aad.data(), static_cast<int>(aad.size())) != 1 ||
        EVP_CipherUpdate(ctx_, out, &n, in.data(), static_cast<int>(in.size())) != 1) {
      return false;
    }
    if (encrypt_) {
      return EVP_CipherFinal_ex(ctx_, out + in.size(), &n) == 1 &&
             EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1;
    }
    return EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_GCM_SET_TAG, 16, tag) == 1 &&
           EVP_CipherFinal_ex(ctx_, out + in.size(), &n) == 1;
  }

 private:
  bool encrypt_;
  EVP_CIPHER* cipher_ = nullptr;
  EVP_CIPHER_CTX* ctx_ = nullptr;
};

void BM_OpenSslGcmChunkEncrypt(benchmark::State& state) {
  RawGcm gcm(RandomBuffer(32), /*encrypt=*/true);
  const auto cleartext = RandomBuffer(kCleartextChunkSize);
  std::vector<uint8_t> out(kCleartextChunkSize);
  uint8_t iv[12] = {};
  const uint8_t aad[20] = {};
  uint8_t tag[16];
  uint64_t counter = 0;
  for ([[maybe_unused]] auto _ : state) {
    ++counter;
    std::memcpy(iv, &counter, sizeof counter);
    if (!gcm.Run(iv, aad, cleartext, out.data(), tag)) {
      state.SkipWithError("OpenSSL GCM encrypt failed");
      break;
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kCleartextChunkSize));
}

void BM_OpenSslGcmChunkDecrypt(benchmark::State& state) {
  const auto key = RandomBuffer(32);
  const auto cleartext = RandomBuffer(kCleartextChunkSize);
  std::vector<uint8_t> ciphertext(kCleartextChunkSize);
  const uint8_t iv[12] = {1};
  const uint8_t aad[20] = {2};
  uint8_t tag[16];
  if (!RawGcm(key, /*encrypt=*/true).Run(iv, aad, cleartext, ciphertext.data(), tag)) {
    Die("OpenSSL GCM encrypt failed");
  }
  RawGcm gcm(key, /*encrypt=*/false);
  std::vector<uint8_t> out(kCleartextChunkSize);
  for ([[maybe_unused]] auto _ : state) {
    if (!gcm.Run(iv, aad, ciphertext, out.data(), tag)) {
      state.SkipWithError("OpenSSL GCM decrypt failed");
      break;
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kCleartextChunkSize));
}
BENCHMARK(BM_OpenSslGcmChunkEncrypt);
BENCHMARK(BM_OpenSslGcmChunkDecrypt);

// --- EncryptedFile -----------------------------------------------------------

// A 1 MiB encrypted file (SIV_GCM) in a fresh temporary directory.
struct TempFile {
  vaultnfs::testing::TempDir dir;
  std::unique_ptr<ContentCryptor> cryptor =
      vaultcore::MakeContentCryptor(CipherCombo::kSivGcm, BenchKey());
  std::unique_ptr<EncryptedFile> file;
  std::vector<uint8_t> data = RandomBuffer(kMiB);

  TempFile() {
    file = Must(EncryptedFile::Create(*cryptor, dir.str() + "/file.c9r", 0600), "create file");
    Must(file->Write(0, data), "initial write");
  }
};

void BM_EncryptedFileRead1MiB(benchmark::State& state) {
  TempFile f;
  std::vector<uint8_t> out(kMiB);
  for ([[maybe_unused]] auto _ : state) {
    auto got = f.file->Read(0, out);
    if (!got.ok() || *got != kMiB) {
      state.SkipWithError("Read failed");
      break;
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kMiB));
}

// Overwrites the whole 1 MiB file: every chunk is fully replaced, so no
// chunk is read back (the steady state of a sequential rewrite).
void BM_EncryptedFileWrite1MiB(benchmark::State& state) {
  TempFile f;
  for ([[maybe_unused]] auto _ : state) {
    if (!f.file->Write(0, f.data).ok()) {
      state.SkipWithError("Write failed");
      break;
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kMiB));
}
BENCHMARK(BM_EncryptedFileRead1MiB);
BENCHMARK(BM_EncryptedFileWrite1MiB);

// --- Names -------------------------------------------------------------------

constexpr std::string_view kName = "quarterly-report.pdf";  // 20 bytes
constexpr std::string_view kParentId = "8f3c1a2e-5b7d-4e9f-a6c0-1d2b3e4f5a6b";
static_assert(kName.size() == 20 && kParentId.size() == 36);

void BM_NameEncrypt(benchmark::State& state) {
  const vaultcore::NameCipher names(BenchKey(), 220);
  for ([[maybe_unused]] auto _ : state) {
    auto encrypted = names.EncryptName(kName, kParentId);
    if (!encrypted.ok()) {
      state.SkipWithError("EncryptName failed");
      break;
    }
    benchmark::DoNotOptimize(encrypted);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_NameDecrypt(benchmark::State& state) {
  const vaultcore::NameCipher names(BenchKey(), 220);
  const std::string encrypted = Must(names.EncryptName(kName, kParentId), "EncryptName");
  for ([[maybe_unused]] auto _ : state) {
    auto decrypted = names.DecryptName(encrypted, kParentId);
    if (!decrypted.ok()) {
      state.SkipWithError("DecryptName failed");
      break;
    }
    benchmark::DoNotOptimize(decrypted);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_NameEncrypt);
BENCHMARK(BM_NameDecrypt);

// --- Listing the fixture vault -------------------------------------------------

// Lists `dir` and every directory below it, like `ls -R`; returns the
// number of entries seen, or -1 on an error.
int64_t ListRecursive(const Vault& vault, const vaultcore::DirRef& dir) {
  auto entries = vault.List(dir);
  if (!entries.ok()) return -1;
  int64_t count = static_cast<int64_t>(entries->size());
  for (const auto& entry : *entries) {
    if (entry.kind() != vaultcore::NodeKind::kDirectory) continue;
    const int64_t below = ListRecursive(vault, entry.AsDir());
    if (below < 0) return -1;
    count += below;
  }
  return count;
}

void ListBenchmark(benchmark::State& state, const vaultcore::DirRef& dir) {
  const Vault& vault = MainVault();
  int64_t entries = 0;
  for ([[maybe_unused]] auto _ : state) {
    entries = ListRecursive(vault, dir);
    if (entries < 0) {
      state.SkipWithError("List failed");
      break;
    }
  }
  state.counters["entries"] = static_cast<double>(entries);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * entries);
}

// The whole tree of `main` (/many alone holds 1000 files).
void BM_ListRecursive1000(benchmark::State& state) { ListBenchmark(state, MainVault().Root()); }

// Just /many: one directory of 1000 files.
void BM_ListMany1000(benchmark::State& state) {
  const auto many = Must(MainVault().ResolvePath("/many"), "resolve /many");
  ListBenchmark(state, many.AsDir());
}
BENCHMARK(BM_ListRecursive1000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ListMany1000)->Unit(benchmark::kMillisecond);

// --- Unlock --------------------------------------------------------------------

void BM_Unlock(benchmark::State& state) {
  const Fixture& f = MainVaultFixture();
  for ([[maybe_unused]] auto _ : state) {
    auto vault = Vault::Open(f.path, f.password, {.read_only = true});
    if (!vault.ok()) {
      state.SkipWithError("Vault::Open failed");
      break;
    }
    benchmark::DoNotOptimize(vault);
  }
}
BENCHMARK(BM_Unlock)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
