// Known-answer tests of the primitives in crypto.h: AES-SIV (aes_siv.json),
// scrypt and AES key wrap (kdf_keywrap.json), plus digests, the
// constant-time comparison and the random bytes.
#include "vaultcore/crypto.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <mutex>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "tests/testing.h"

namespace vaultcore {
namespace {

using vaultnfs::testing::HasCode;
using vaultnfs::testing::Str;

using nlohmann::json;
using vaultnfs::testing::Hex;
using vaultnfs::testing::LoadVectors;

// An AD vector: owns the byte strings and hands out the span list AesSiv
// takes. Each element is one S2V input, so [] and [""] are different.
class AssociatedData {
 public:
  explicit AssociatedData(const json& hex_list) {
    for (const auto& hex : hex_list) data_.push_back(Hex(hex.get<std::string>()));
    for (const auto& d : data_) spans_.emplace_back(d);
  }
  std::span<const std::span<const uint8_t>> spans() const { return spans_; }

 private:
  std::vector<Bytes> data_;
  std::vector<std::span<const uint8_t>> spans_;
};

// RFC 5297 order: the S2V (MAC) half first, the CTR half second.
Bytes SivKey(const json& v) {
  Bytes key = Hex(Str(v, "mac_key"));
  const Bytes ctr = Hex(Str(v, "ctr_key"));
  key.insert(key.end(), ctr.begin(), ctr.end());
  return key;
}

// RFC 5297's own examples use AES-128 (a 32-byte SIV key); vaults use
// AES-256 (64 bytes). Vectors that give only one half have equal halves.
size_t SivKeySize(const json& v) {
  return 2 * Hex(Str(v, v.contains("mac_key") ? "mac_key" : "ctr_key")).size();
}
constexpr size_t kVaultSivKeySize = 64;

void CheckEncrypt(const json& v) {
  const Bytes key = SivKey(v);
  if (v.contains("key_rfc5297")) {
    EXPECT_EQ(EncodeHex(key), Str(v, "key_rfc5297"));
  }
  const AesSiv siv(key);
  const AssociatedData ad(v.at("associated_data"));
  const Bytes plaintext = Hex(Str(v, "plaintext"));

  auto out = siv.Encrypt(ad.spans(), plaintext);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(EncodeHex(*out), Str(v, "output"));
  auto back = siv.Decrypt(ad.spans(), *out);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(EncodeHex(*back), Str(v, "plaintext"));
}

void CheckAuthenticationFailure(const json& v) {
  const Bytes key = SivKey(v);
  const AesSiv siv(key);
  const AssociatedData ad(v.at("associated_data"));
  auto out = siv.Decrypt(ad.spans(), Hex(Str(v, "input")));
  ASSERT_FALSE(out.ok());
  EXPECT_TRUE(HasCode(out.status(), Errc::kCorrupt));
}

// S2V is internal to AesSiv, but its result is the first 16 output bytes,
// which do not depend on the CTR key: any CTR key will do.
void CheckS2v(const json& v) {
  Bytes key = Hex(Str(v, "mac_key"));
  key.resize(2 * key.size(), 0x00);
  const AesSiv siv(key);
  const AssociatedData ad(v.at("associated_data"));
  auto out = siv.Encrypt(ad.spans(), Hex(Str(v, "plaintext")));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(EncodeHex(std::span(*out).first(AesSiv::kTagSize)), Str(v, "s2v"));
}

// The CTR keystream is not exposed either. It shows through an encryption
// vector with the same CTR key whose synthetic IV gives this counter block:
// there, the library's ciphertext XOR the plaintext is the keystream.
void CheckCtr(const json& v, const json& all) {
  const Bytes counter_block = Hex(Str(v, "counter_block"));
  const Bytes input = Hex(Str(v, "input"));
  const Bytes output = Hex(Str(v, "output"));
  bool found = false;
  for (const auto& other : all) {
    if (!other.contains("output") || !other.contains("mac_key") ||
        other.value("ctr_key", "") != Str(v, "ctr_key")) {
      continue;
    }
    Bytes block = Hex(Str(other, "output"));
    block.resize(AesSiv::kTagSize);
    block[8] &= 0x7f;  // RFC 5297 clears bits 63 and 31 of V
    block[12] &= 0x7f;
    if (block != counter_block) continue;
    found = true;
    SCOPED_TRACE("via " + Str(other, "id"));
    const AesSiv siv(SivKey(other));
    const AssociatedData ad(other.at("associated_data"));
    const Bytes plaintext = Hex(Str(other, "plaintext"));
    auto sealed = siv.Encrypt(ad.spans(), plaintext);
    ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
    const size_t n = std::min({plaintext.size(), input.size(), output.size()});
    for (size_t i = 0; i < n; ++i) {
      EXPECT_EQ((*sealed)[AesSiv::kTagSize + i] ^ plaintext[i], output[i] ^ input[i])
          << "keystream byte " << i;
    }
  }
  // A CTR vector no encryption vector exposes would be a pure intermediate,
  // which the public API cannot reach; there is none today.
  EXPECT_TRUE(found) << "no encryption vector exposes this counter block";
}

void CheckEmptyAdComponent(const json& v) {
  const AesSiv siv(SivKey(v));
  const Bytes plaintext = Hex(Str(v, "plaintext"));
  // A default-constructed (null data) empty string is as valid an element
  // as any other empty string.
  const Bytes empty;
  const std::span<const uint8_t> one_empty[] = {empty};

  auto with_empty = siv.Encrypt(one_empty, plaintext);
  auto with_none = siv.Encrypt({}, plaintext);
  ASSERT_TRUE(with_empty.ok()) << with_empty.status().ToString();
  ASSERT_TRUE(with_none.ok()) << with_none.status().ToString();
  EXPECT_EQ(EncodeHex(*with_empty), Str(v, "output_with_one_empty_ad"));
  EXPECT_EQ(EncodeHex(*with_none), Str(v, "output_with_no_ad"));

  // Each only decrypts under its own AD vector.
  EXPECT_TRUE(siv.Decrypt(one_empty, *with_empty).ok());
  EXPECT_TRUE(siv.Decrypt({}, *with_none).ok());
  EXPECT_TRUE(HasCode(siv.Decrypt({}, *with_empty).status(), Errc::kCorrupt));
  EXPECT_TRUE(HasCode(siv.Decrypt(one_empty, *with_none).status(), Errc::kCorrupt));
}

void CheckVector(const json& v, const json& all) {
  SCOPED_TRACE(Str(v, "id"));
  if (v.contains("s2v")) {
    CheckS2v(v);
  } else if (v.contains("counter_block")) {
    CheckCtr(v, all);
  } else if (v.contains("output_with_one_empty_ad")) {
    CheckEmptyAdComponent(v);
  } else if (v.value("expect", "") == "authentication-failure") {
    CheckAuthenticationFailure(v);
  } else if (v.contains("output")) {
    CheckEncrypt(v);
  } else {
    ADD_FAILURE() << "vector of unknown shape";
  }
}

TEST(AesSivTest, VaultKeySizeVectors) {
  const json vectors = LoadVectors("aes_siv.json").at("vectors");
  int checked = 0;
  for (const auto& v : vectors) {
    if (SivKeySize(v) != kVaultSivKeySize) continue;
    CheckVector(v, vectors);
    ++checked;
  }
  EXPECT_GT(checked, 0);
}

TEST(AesSivTest, EmptyPlaintextRoundTripsAndAuthenticates) {
  // OpenSSL refuses this input; the library computes S2V itself (spec §6.2).
  const AesSiv siv(Bytes(64, 0x42));
  const Bytes id = {'i', 'd'};
  const std::span<const uint8_t> ad[] = {id};
  for (auto ad_list : {std::span<const std::span<const uint8_t>>{},
                       std::span<const std::span<const uint8_t>>(ad)}) {
    auto out = siv.Encrypt(ad_list, {});
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    ASSERT_EQ(out->size(), AesSiv::kTagSize);
    auto back = siv.Decrypt(ad_list, *out);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_TRUE(back->empty());
    Bytes tampered = *out;
    tampered[0] ^= 0x01;
    EXPECT_TRUE(HasCode(siv.Decrypt(ad_list, tampered).status(), Errc::kCorrupt));
  }
}

TEST(AesSivTest, RejectsCiphertextShorterThanTheTag) {
  const AesSiv siv(Bytes(64, 0x42));
  EXPECT_TRUE(HasCode(siv.Decrypt({}, Bytes(AesSiv::kTagSize - 1)).status(), Errc::kCorrupt));
  EXPECT_TRUE(HasCode(siv.Decrypt({}, Bytes{}).status(), Errc::kCorrupt));
}

TEST(AesSivTest, EveryBitOfTheOutputIsAuthenticated) {
  const AesSiv siv(Bytes(64, 0x42));
  const Bytes plaintext = {'h', 'e', 'l', 'l', 'o'};
  auto out = siv.Encrypt({}, plaintext);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  for (size_t i = 0; i < out->size() * 8; ++i) {
    Bytes tampered = *out;
    tampered[i / 8] ^= static_cast<uint8_t>(1u << (i % 8));
    EXPECT_TRUE(HasCode(siv.Decrypt({}, tampered).status(), Errc::kCorrupt)) << "bit " << i;
  }
}

TEST(ScryptTest, KnownAnswers) {
  const json vectors = LoadVectors("kdf_keywrap.json").at("scrypt");
  ASSERT_FALSE(vectors.empty());
  for (const auto& v : vectors) {
    SCOPED_TRACE(Str(v, "id"));
    Bytes out(v.at("dk_len").get<size_t>());
    Status s = Scrypt(Hex(Str(v, "password_utf8")), Hex(Str(v, "salt")), v.at("N").get<uint64_t>(),
                      v.at("r").get<uint32_t>(), v.at("p").get<uint32_t>(), out);
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(EncodeHex(out), Str(v, "dk"));
  }
}

TEST(AesKeyWrapTest, KnownAnswers) {
  const json vectors = LoadVectors("kdf_keywrap.json").at("aes_key_wrap");
  ASSERT_FALSE(vectors.empty());
  for (const auto& v : vectors) {
    SCOPED_TRACE(Str(v, "id"));
    const Bytes kek = Hex(Str(v, "kek"));
    const Bytes wrapped = Hex(Str(v, "wrapped"));

    auto wrap = AesKeyWrap(kek, Hex(Str(v, "key_data")));
    ASSERT_TRUE(wrap.ok()) << wrap.status().ToString();
    EXPECT_EQ(EncodeHex(*wrap), Str(v, "wrapped"));

    auto unwrap = AesKeyUnwrap(kek, wrapped);
    ASSERT_TRUE(unwrap.ok()) << unwrap.status().ToString();
    EXPECT_EQ(EncodeHex(unwrap->span()), Str(v, "key_data"));
  }
}

TEST(AesKeyWrapTest, UnwrapFailsOnTamperedInputOrWrongKek) {
  const json vectors = LoadVectors("kdf_keywrap.json").at("aes_key_wrap");
  for (const auto& v : vectors) {
    SCOPED_TRACE(Str(v, "id"));
    const Bytes kek = Hex(Str(v, "kek"));
    const Bytes wrapped = Hex(Str(v, "wrapped"));
    // The integrity check value covers every byte of the wrapped key.
    for (size_t i = 0; i < wrapped.size(); ++i) {
      Bytes tampered = wrapped;
      tampered[i] ^= 0x80;
      EXPECT_TRUE(HasCode(AesKeyUnwrap(kek, tampered).status(), Errc::kCorrupt)) << "byte " << i;
    }
    Bytes wrong_kek = kek;
    wrong_kek.back() ^= 0x01;
    EXPECT_TRUE(HasCode(AesKeyUnwrap(wrong_kek, wrapped).status(), Errc::kCorrupt));
    // Lengths no key wrap can produce.
    EXPECT_TRUE(HasCode(AesKeyUnwrap(kek, std::span(wrapped).first(wrapped.size() - 1)).status(),
                        Errc::kCorrupt));
    EXPECT_TRUE(HasCode(AesKeyUnwrap(kek, std::span(wrapped).first(16)).status(), Errc::kCorrupt));
    EXPECT_TRUE(HasCode(AesKeyUnwrap(kek, Bytes{}).status(), Errc::kCorrupt));
  }
}

TEST(DigestTest, Sha1AndSha256OfKnownInputs) {
  // FIPS 180-2 examples.
  const std::string abc = "abc";
  EXPECT_EQ(EncodeHex(Sha1(AsBytes(abc))), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(EncodeHex(Sha256(AsBytes(abc))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(EncodeHex(Sha1({})), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  EXPECT_EQ(EncodeHex(Sha256({})),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(HmacTest, Rfc4231TestCase2) {
  const std::string key = "Jefe";
  const std::string data = "what do ya want for nothing?";
  const struct {
    const char* digest;
    const char* mac;
  } cases[] = {
      {"SHA256", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      {"SHA384",
       "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e"
       "8e2240ca5e69e2c78b3239ecfab21649"},
      {"SHA512",
       "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
       "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"},
  };
  for (const auto& c : cases) {
    auto mac = Hmac(c.digest, AsBytes(key), AsBytes(data));
    ASSERT_TRUE(mac.ok()) << c.digest << ": " << mac.status().ToString();
    EXPECT_EQ(EncodeHex(*mac), c.mac) << c.digest;
  }
  EXPECT_FALSE(Hmac("NO-SUCH-DIGEST", AsBytes(key), AsBytes(data)).ok());
}

TEST(HmacSha256Test, KnownAnswerAndReuseFromManyThreads) {
  const std::string key = "Jefe";
  const HmacSha256 mac(AsBytes(key));
  const std::string expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
  // Every Sign starts afresh from the key: the same input gives the same
  // MAC however many times and threads it has served.
  std::vector<std::thread> threads;
  threads.reserve(4);
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        auto got = mac.Sign(AsBytes(std::string("what do ya want for nothing?")));
        if (!got.ok() || EncodeHex(*got) != expected) ++wrong;
        auto other = mac.Sign(AsBytes(std::to_string(i)));
        auto reference = Hmac("SHA256", AsBytes(key), AsBytes(std::to_string(i)));
        if (!other.ok() || !reference.ok() ||
            !std::equal(other->begin(), other->end(), reference->begin(), reference->end())) {
          ++wrong;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(ConstantTimeEqualsTest, ComparesContentAndLength) {
  const Bytes a = {1, 2, 3, 4};
  EXPECT_TRUE(ConstantTimeEquals(a, Bytes{1, 2, 3, 4}));
  EXPECT_TRUE(ConstantTimeEquals(Bytes{}, Bytes{}));
  EXPECT_FALSE(ConstantTimeEquals(a, Bytes{1, 2, 3, 5}));
  EXPECT_FALSE(ConstantTimeEquals(a, Bytes{0, 2, 3, 4}));
  // A prefix is not equal: lengths count.
  EXPECT_FALSE(ConstantTimeEquals(a, Bytes{1, 2, 3}));
  EXPECT_FALSE(ConstantTimeEquals(Bytes{1, 2, 3}, a));
  EXPECT_FALSE(ConstantTimeEquals(a, Bytes{}));
}

TEST(RandomBytesTest, FillsTheBuffer) {
  Bytes a(32), b(32);
  ASSERT_TRUE(RandomBytes(a).ok());
  ASSERT_TRUE(RandomBytes(b).ok());
  EXPECT_NE(a, b);  // fails with probability 2^-256
}

using Nonce = std::array<uint8_t, 12>;

Nonce Draw() {
  Nonce nonce{};
  EXPECT_TRUE(PublicRandomBytes(nonce).ok());
  return nonce;
}

TEST(PublicRandomBytesTest, NoDrawRepeatsAnotherAcrossManyRefills) {
  std::set<Nonce> seen;
  for (int i = 0; i < 100'000; ++i) ASSERT_TRUE(seen.insert(Draw()).second) << "draw " << i;
}

TEST(PublicRandomBytesTest, ThreadsDrawDistinctBytes) {
  std::mutex mutex;
  std::set<Nonce> seen;
  size_t draws = 0;
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      std::vector<Nonce> mine(10'000);
      for (Nonce& nonce : mine) nonce = Draw();
      std::lock_guard lock(mutex);
      seen.insert(mine.begin(), mine.end());
      draws += mine.size();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(seen.size(), draws);
}

TEST(PublicRandomBytesTest, DrawsLargerThanThePoolAndEmptyDrawsWork) {
  std::vector<uint8_t> a(64 * 1024), b(64 * 1024);
  ASSERT_TRUE(PublicRandomBytes(a).ok());
  ASSERT_TRUE(PublicRandomBytes(b).ok());
  EXPECT_NE(a, b);
  EXPECT_NE(a, std::vector<uint8_t>(a.size()));
  EXPECT_TRUE(PublicRandomBytes({}).ok());
}

// Without the fork handler parent and child would both hand out the next
// bytes of the pool they share: a nonce used twice.
TEST(PublicRandomBytesTest, AForkedChildDoesNotRepeatItsParentsBytes) {
  Draw();  // the pool is filled now, and bytes are left in it
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    Nonce nonce{};
    const bool ok = PublicRandomBytes(nonce).ok();
    const bool written = write(fds[1], nonce.data(), nonce.size()) == ssize_t(nonce.size());
    _exit(ok && written ? 0 : 1);
  }
  const Nonce parents = Draw();
  Nonce childs{};
  ASSERT_EQ(read(fds[0], childs.data(), childs.size()), ssize_t(childs.size()));
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  close(fds[0]);
  close(fds[1]);
  EXPECT_NE(parents, childs);
}

// RFC 5297 appendix A (AES-128-SIV) through the same public API. Its own
// suite, last in the file, so it runs last: AesSiv aborts the process on a
// key that is not 64 bytes, which must not take the other tests down too.
TEST(AesSivRfc5297Test, AppendixAVectors) {
  const json vectors = LoadVectors("aes_siv.json").at("vectors");
  int checked = 0;
  for (const auto& v : vectors) {
    if (SivKeySize(v) == kVaultSivKeySize) continue;
    CheckVector(v, vectors);
    ++checked;
  }
  EXPECT_GT(checked, 0);
}

}  // namespace
}  // namespace vaultcore
