// Damaged and foreign ciphertext: whatever was flipped, cut or added, the
// vault never hands out unauthenticated bytes, names the damage (file and
// chunk), keeps listing everything else, and ignores what is not a node
// (spec §7.4, §5.5, §10).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "tests/testing.h"
#include "vaultcore/codec.h"
#include "vaultcore/vault.h"

namespace vaultcore {
namespace {

using vaultnfs::testing::HasCode;

namespace fs = std::filesystem;
using vaultnfs::testing::CopyFixtureVault;
using vaultnfs::testing::FixturesDir;
using vaultnfs::testing::TempDir;

constexpr std::string_view kPassword = "pw";
constexpr uint64_t kChunk = kCleartextChunkSize;
const std::string kLongName(200, 'L');  // shortened at the default threshold

std::string ReadPlain(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WritePlain(const fs::path& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

void FlipBit(const fs::path& path, uint64_t offset, int bit = 0) {
  std::string bytes = ReadPlain(path);
  ASSERT_LT(offset, bytes.size()) << path;
  bytes[offset] = static_cast<char>(bytes[offset] ^ (1 << bit));
  WritePlain(path, bytes);
}

std::string RandomText(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(rng());
  return out;
}

std::vector<std::string> Names(Vault& vault, const DirRef& dir) {
  auto entries = vault.List(dir);
  EXPECT_TRUE(entries.ok()) << entries.status().ToString();
  std::vector<std::string> names;
  if (entries.ok()) {
    for (const Entry& e : *entries) names.push_back(e.name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

// A read through the vault as a server would do it: open, then read.
// `buffer` is what the caller's memory holds afterwards, error or not.
Status ReadThrough(Vault& vault, const Entry& entry, uint64_t offset, std::string& buffer) {
  auto file = vault.OpenFile(entry);
  if (!file.ok()) return file.status();
  auto n =
      (*file)->Read(offset, std::span(reinterpret_cast<uint8_t*>(buffer.data()), buffer.size()));
  if (!n.ok()) return n.status();
  buffer.resize(*n);
  return Status::Ok();
}

// How many bytes of `buffer` equal `plain` at the same position. Random
// cleartext matches garbage about once in 256 bytes; a leaked chunk
// (unauthenticated plaintext left in the caller's buffer) matches almost
// everywhere.
size_t Matching(std::string_view buffer, std::string_view plain) {
  size_t same = 0;
  for (size_t i = 0; i < std::min(buffer.size(), plain.size()); ++i) same += buffer[i] == plain[i];
  return same;
}

// A fresh vault with one of everything, for both cipher combos.
class CorruptionTest : public ::testing::TestWithParam<CipherCombo> {
 protected:
  void SetUp() override {
    path_ = (tmp_.path() / "vault").string();
    ASSERT_TRUE(
        Vault::Create(path_, kPassword, {.cipher_combo = GetParam(), .scrypt = {.n = 1024, .r = 8}})
            .ok());
    Reopen();
    const DirRef root = vault_->Root();
    // Three full chunks and a partial fourth.
    content_ = RandomText(3 * kChunk + 100, 1);
    Make(root, "file.bin", content_);
    Make(root, "aligned.bin", RandomText(kChunk, 2));
    Make(root, "other.bin", RandomText(3 * kChunk + 100, 3));
    Make(root, kLongName, "long");
    auto dir = vault_->MakeDirectory(root, "dir", 0755);
    ASSERT_TRUE(dir.ok());
    Make(dir->AsDir(), "child.txt", "child");
    ASSERT_TRUE(vault_->MakeSymlink(root, "link", "target").ok());
    all_names_ = {"aligned.bin", "dir", "file.bin", "link", "other.bin", kLongName};
    std::sort(all_names_.begin(), all_names_.end());
  }

  void Make(const DirRef& dir, const std::string& name, const std::string& content) {
    auto e = vault_->CreateFile(dir, name, 0644);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    auto file = vault_->OpenFile(*e);
    ASSERT_TRUE(file.ok());
    ASSERT_TRUE((*file)->Write(0, AsBytes(content)).ok());
  }

  // A new Vault object: nothing cached from before the damage.
  void Reopen() {
    vault_.reset();
    auto vault = Vault::Open(path_, kPassword);
    ASSERT_TRUE(vault.ok()) << vault.status().ToString();
    vault_ = std::move(vault).value();
  }

  Entry Lookup(std::string_view path) {
    auto e = vault_->ResolvePath(path);
    EXPECT_TRUE(e.ok()) << path << ": " << e.status().ToString();
    return e.ok() ? *e : Entry{};
  }

  uint64_t ChunkOffset(uint64_t index) {
    return vault_->cryptor().header_size() + index * vault_->cryptor().ciphertext_chunk_size();
  }

  // Reading all of file.bin fails with kCorrupt, and the caller's buffer
  // holds none of the cleartext.
  void ExpectUnreadable(const std::string& why) {
    SCOPED_TRACE(why);
    Reopen();
    const Entry e = Lookup("file.bin");
    std::string buffer(content_.size(), '\0');
    Status s = ReadThrough(*vault_, e, 0, buffer);
    EXPECT_TRUE(HasCode(s, Errc::kCorrupt));
    EXPECT_NE(s.message().find(e.data_path()), std::string::npos) << s.message();
    EXPECT_LT(Matching(buffer, content_), buffer.size() / 32) << "cleartext leaked";
    // The rest of the vault is unaffected.
    EXPECT_EQ(Names(*vault_, vault_->Root()), all_names_);
  }

  TempDir tmp_;
  std::string path_;
  std::unique_ptr<Vault> vault_;
  std::string content_;
  std::vector<std::string> all_names_;
};

TEST_P(CorruptionTest, FlippedBitInHeader) {
  const std::string data_path = Lookup("file.bin").data_path();
  const size_t header = vault_->cryptor().header_size();
  for (uint64_t offset : {uint64_t{0}, uint64_t{5}, uint64_t{20}, uint64_t{header - 1}}) {
    FlipBit(data_path, offset, 3);
    ExpectUnreadable("header byte " + std::to_string(offset));
    FlipBit(data_path, offset, 3);  // undo
  }
  Reopen();
  std::string buffer(content_.size(), '\0');
  ASSERT_TRUE(ReadThrough(*vault_, Lookup("file.bin"), 0, buffer).ok());
  EXPECT_EQ(buffer, content_);
}

TEST_P(CorruptionTest, FlippedBitInChunkNamesFileAndChunk) {
  const std::string data_path = Lookup("file.bin").data_path();
  const size_t nonce = vault_->cryptor().nonce_size();
  const size_t chunk_ct = vault_->cryptor().ciphertext_chunk_size();
  // The chunk's nonce, its ciphertext, its tag; and the last, partial chunk.
  const std::vector<std::pair<uint64_t, uint64_t>> damage = {{1, ChunkOffset(1)},
                                                             {1, ChunkOffset(1) + nonce + 1000},
                                                             {1, ChunkOffset(1) + chunk_ct - 1},
                                                             {3, ChunkOffset(3) + nonce + 50}};
  for (const auto& [chunk, offset] : damage) {
    SCOPED_TRACE("chunk " + std::to_string(chunk) + " byte " + std::to_string(offset));
    FlipBit(data_path, offset, 6);
    ExpectUnreadable("bit flip");
    Reopen();
    const Entry e = Lookup("file.bin");
    auto file = vault_->OpenFile(e);
    ASSERT_TRUE(file.ok());
    std::string buffer(content_.size(), '\0');
    auto n = (*file)->Read(0, std::span(reinterpret_cast<uint8_t*>(buffer.data()), buffer.size()));
    ASSERT_TRUE(HasCode(n, Errc::kCorrupt));
    EXPECT_NE(n.status().message().find("chunk " + std::to_string(chunk)), std::string::npos)
        << n.status().message();
    // Only the damaged chunk is lost: the others still read.
    for (uint64_t i = 0; i < 4; ++i) {
      std::string part(kChunk, '\0');
      auto got = (*file)->Read(i * kChunk,
                               std::span(reinterpret_cast<uint8_t*>(part.data()), part.size()));
      if (i == chunk) {
        EXPECT_TRUE(HasCode(got, Errc::kCorrupt)) << "chunk " << i;
        EXPECT_LT(Matching(part, std::string_view(content_).substr(i * kChunk)), part.size() / 32)
            << "cleartext of the damaged chunk leaked";
      } else {
        ASSERT_TRUE(got.ok()) << "chunk " << i << ": " << got.status().ToString();
        part.resize(*got);
        EXPECT_EQ(part, content_.substr(i * kChunk, kChunk)) << "chunk " << i;
      }
    }
    // Writing into the damaged chunk needs its old bytes: refused, not
    // silently "repaired" with garbage; so is cutting the file inside it.
    EXPECT_TRUE(HasCode((*file)->Write(chunk * kChunk + 10, AsBytes("x")), Errc::kCorrupt));
    EXPECT_TRUE(HasCode((*file)->Truncate(chunk * kChunk + 10), Errc::kCorrupt));
    file->reset();
    FlipBit(data_path, offset, 6);  // undo
  }
}

TEST_P(CorruptionTest, ReorderedOrTransplantedChunks) {
  const std::string data_path = Lookup("file.bin").data_path();
  const std::string original = ReadPlain(data_path);
  const size_t chunk_ct = vault_->cryptor().ciphertext_chunk_size();
  // Chunks 0 and 1 swapped: each authenticates only at its own index.
  std::string swapped = original;
  swapped.replace(ChunkOffset(0), chunk_ct, original.substr(ChunkOffset(1), chunk_ct));
  swapped.replace(ChunkOffset(1), chunk_ct, original.substr(ChunkOffset(0), chunk_ct));
  WritePlain(data_path, swapped);
  ExpectUnreadable("swapped chunks");
  // Chunk 1 of another file (same position, other header nonce and key).
  const std::string other = ReadPlain(Lookup("other.bin").data_path());
  std::string transplanted = original;
  transplanted.replace(ChunkOffset(1), chunk_ct, other.substr(ChunkOffset(1), chunk_ct));
  WritePlain(data_path, transplanted);
  ExpectUnreadable("transplanted chunk");
  // Another file's header: the chunks do not belong to it.
  std::string reheadered = original;
  reheadered.replace(0, vault_->cryptor().header_size(),
                     other.substr(0, vault_->cryptor().header_size()));
  WritePlain(data_path, reheadered);
  ExpectUnreadable("foreign header");
}

TEST_P(CorruptionTest, TruncatedChunkTail) {
  const size_t overhead = vault_->cryptor().chunk_overhead();
  const std::string data_path = Lookup("file.bin").data_path();
  const std::string original = ReadPlain(data_path);
  // A last chunk with room for no cleartext byte: 1..overhead bytes after
  // the last full chunk. The size is impossible; Cryptomator shows 0.
  for (size_t tail : {size_t{1}, size_t{2}, overhead - 1, overhead}) {
    SCOPED_TRACE("tail of " + std::to_string(tail) + " bytes");
    WritePlain(data_path, original.substr(0, ChunkOffset(3) + tail));
    Reopen();
    const Entry e = Lookup("file.bin");
    EXPECT_EQ(e.attr.size, 0u);
    auto file = vault_->OpenFile(e);
    ASSERT_TRUE(file.ok());
    EXPECT_TRUE(HasCode((*file)->Size(), Errc::kCorrupt));
    ExpectUnreadable("impossible size");
  }
  // The same after an exactly full chunk (a regular file never ends with
  // an empty chunk, so 28/48 extra bytes are damage too).
  const std::string aligned_path = Lookup("aligned.bin").data_path();
  const std::string aligned = ReadPlain(aligned_path);
  for (size_t tail : {size_t{1}, overhead}) {
    WritePlain(aligned_path, aligned + std::string(tail, 'x'));
    Reopen();
    std::string buffer(kChunk, '\0');
    EXPECT_TRUE(HasCode(ReadThrough(*vault_, Lookup("aligned.bin"), 0, buffer), Errc::kCorrupt))
        << tail;
  }
  // A last chunk cut short but still holding bytes: it fails its tag.
  WritePlain(data_path, original.substr(0, original.size() - 10));
  ExpectUnreadable("last chunk cut short");
  // A header cut short.
  WritePlain(data_path, original.substr(0, vault_->cryptor().header_size() - 1));
  ExpectUnreadable("header cut short");
}

TEST_P(CorruptionTest, FlippedBitInSymlink) {
  const Entry link = Lookup("link");
  FlipBit(link.data_path(), vault_->cryptor().header_size() + 20);  // inside the one chunk
  Reopen();
  EXPECT_TRUE(HasCode(vault_->ReadLink(Lookup("link")), Errc::kCorrupt));
  EXPECT_EQ(Names(*vault_, vault_->Root()), all_names_);
}

TEST_P(CorruptionTest, FlippedBitInDirC9rHidesDirectory) {
  const Entry dir = Lookup("dir");
  const fs::path dir_c9r = fs::path(dir.node_path) / "dir.c9r";
  std::vector<std::string> without_dir = all_names_;
  std::erase(without_dir, "dir");
  // A low bit keeps it a plausible id; the high bit makes it invalid UTF-8.
  for (int bit : {0, 7}) {
    SCOPED_TRACE("bit " + std::to_string(bit));
    FlipBit(dir_c9r, 3, bit);
    Reopen();
    // The id now names a content directory that does not exist: the
    // directory is hidden, everything else lists.
    EXPECT_EQ(Names(*vault_, vault_->Root()), without_dir);
    EXPECT_TRUE(HasCode(vault_->Lookup(vault_->Root(), "dir"), Errc::kNotFound));
    EXPECT_TRUE(HasCode(vault_->ResolvePath("dir/child.txt"), Errc::kNotFound));
    FlipBit(dir_c9r, 3, bit);
  }
  // Empty and oversized dir.c9r files are refused the same way.
  const std::string id = ReadPlain(dir_c9r);
  for (const std::string& bad : {std::string(), std::string(2000, 'a')}) {
    WritePlain(dir_c9r, bad);
    Reopen();
    EXPECT_EQ(Names(*vault_, vault_->Root()), without_dir) << bad.size();
  }
  WritePlain(dir_c9r, id);
  Reopen();
  EXPECT_EQ(Names(*vault_, vault_->Root()), all_names_);
  EXPECT_EQ(Names(*vault_, Lookup("dir").AsDir()), std::vector<std::string>{"child.txt"});
}

TEST_P(CorruptionTest, MissingContentDirectoryHidesDirectory) {
  // What a crash between the two steps of a directory delete leaves (§9).
  const Entry dir = Lookup("dir");
  fs::remove_all(dir.data_path());
  Reopen();
  std::vector<std::string> without_dir = all_names_;
  std::erase(without_dir, "dir");
  EXPECT_EQ(Names(*vault_, vault_->Root()), without_dir);
  EXPECT_TRUE(HasCode(vault_->Lookup(vault_->Root(), "dir"), Errc::kNotFound));
}

TEST_P(CorruptionTest, DirIdBackupIsNotNeeded) {
  // dirid.c9r is only a recovery aid (§6.3): missing or damaged, the
  // directory still works.
  const Entry dir = Lookup("dir");
  const fs::path backup = fs::path(dir.data_path()) / "dirid.c9r";
  FlipBit(backup, 30);
  Reopen();
  EXPECT_EQ(Names(*vault_, Lookup("dir").AsDir()), std::vector<std::string>{"child.txt"});
  fs::remove(backup);
  Reopen();
  EXPECT_EQ(Names(*vault_, Lookup("dir").AsDir()), std::vector<std::string>{"child.txt"});
  std::string buffer(10, '\0');
  EXPECT_TRUE(ReadThrough(*vault_, Lookup("dir/child.txt"), 0, buffer).ok());
  EXPECT_EQ(buffer, "child");
}

TEST_P(CorruptionTest, DamagedNameC9sSkipsOnlyThatEntry) {
  const Entry e = Lookup(kLongName);
  ASSERT_TRUE(e.shortened);
  const fs::path name_c9s = fs::path(e.node_path) / "name.c9s";
  std::vector<std::string> without = all_names_;
  std::erase(without, kLongName);
  const std::string original = ReadPlain(name_c9s);
  for (uint64_t offset : {uint64_t{0}, uint64_t{40}, uint64_t{original.size() - 5}}) {
    FlipBit(name_c9s, offset, 1);
    Reopen();
    EXPECT_EQ(Names(*vault_, vault_->Root()), without) << "byte " << offset;
    FlipBit(name_c9s, offset, 1);
  }
  // Missing name.c9s (a crash while creating the node).
  fs::remove(name_c9s);
  Reopen();
  EXPECT_EQ(Names(*vault_, vault_->Root()), without);
  WritePlain(name_c9s, original);
  Reopen();
  EXPECT_EQ(Names(*vault_, vault_->Root()), all_names_);
}

TEST_P(CorruptionTest, TamperedNodeNameIsSkipped) {
  // A node name that no longer decrypts under its directory's id (a bit
  // flipped in the base64, or a node moved in from another directory).
  const Entry e = Lookup("file.bin");
  const std::string name = fs::path(e.node_path).filename().string();
  std::string tampered = name;
  tampered[5] = tampered[5] == 'A' ? 'B' : 'A';
  fs::rename(e.node_path, fs::path(e.node_path).parent_path() / tampered);
  const Entry child = Lookup("dir/child.txt");
  fs::rename(child.node_path,
             fs::path(vault_->Root().content_path) / fs::path(child.node_path).filename());
  Reopen();
  std::vector<std::string> without = all_names_;
  std::erase(without, "file.bin");
  EXPECT_EQ(Names(*vault_, vault_->Root()), without);
  EXPECT_TRUE(Names(*vault_, Lookup("dir").AsDir()).empty());
}

TEST_P(CorruptionTest, SyncConflictCopiesAreIgnored) {
  // Sync tools leave "<name> (1).c9r" next to a node; Cryptomator would
  // rename it, a server that does not must at least not list it twice.
  for (const char* path : {"file.bin", "dir", "link"}) {
    const fs::path node = Lookup(path).node_path;
    const std::string stem =
        node.filename().string().substr(0, node.filename().string().size() - 4);
    fs::copy(node, node.parent_path() / (stem + " (1).c9r"), fs::copy_options::recursive);
  }
  const fs::path long_node = Lookup(kLongName).node_path;
  fs::copy(long_node,
           long_node.parent_path() /
               (long_node.stem().string() + " (1)" + long_node.extension().string()),
           fs::copy_options::recursive);
  Reopen();
  EXPECT_EQ(Names(*vault_, vault_->Root()), all_names_);
  std::string buffer(content_.size(), '\0');
  ASSERT_TRUE(ReadThrough(*vault_, Lookup("file.bin"), 0, buffer).ok());
  EXPECT_EQ(buffer, content_);
}

TEST_P(CorruptionTest, UnknownFilesAreIgnored) {
  const fs::path vault(path_);
  // In the vault root (Cryptomator's own and anyone else's).
  WritePlain(vault / "IMPORTANT.rtf", "{\\rtf1}");
  WritePlain(vault / "masterkey.cryptomator.1A2B3C4D.bkup", "old");
  WritePlain(vault / "notes.txt", "hello");
  fs::create_directories(vault / "c" / "probe");
  // In d/ and in a d/XX bucket.
  WritePlain(vault / "d" / "desktop.ini", "x");
  const fs::path root = vault_->Root().content_path;
  WritePlain(root.parent_path() / "stray", "x");
  // In content directories: OS litter, too-short names, names that look
  // like nodes but are not, a .c9s without name.c9s, an empty node dir.
  for (const fs::path& dir : {root, fs::path(Lookup("dir").data_path())}) {
    WritePlain(dir / ".DS_Store", "x");
    WritePlain(dir / "Thumbs.db", "x");
    WritePlain(dir / "short.c9r", "x");
    WritePlain(dir / "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.c9r", "not a node");
    WritePlain(dir / "file.tmp", "x");
    fs::create_directories(dir / "BBBBBBBBBBBBBBBBBBBBBBBBBBBB.c9s");
    fs::create_directories(dir / "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC.c9r");
  }
  Reopen();
  EXPECT_EQ(Names(*vault_, vault_->Root()), all_names_);
  EXPECT_EQ(Names(*vault_, Lookup("dir").AsDir()), std::vector<std::string>{"child.txt"});
  // And the vault stays writable around them.
  ASSERT_TRUE(vault_->CreateFile(vault_->Root(), "new", 0644).ok());
  ASSERT_TRUE(vault_->Rename(vault_->Root(), "new", Lookup("dir").AsDir(), "moved").ok());
  ASSERT_TRUE(vault_->Remove(Lookup("dir").AsDir(), "moved").ok());
  ASSERT_TRUE(vault_->Remove(Lookup("dir").AsDir(), "child.txt").ok());
  // Litter does not keep a directory from being removed (§9).
  EXPECT_TRUE(vault_->RemoveDirectory(vault_->Root(), "dir").ok());
}

INSTANTIATE_TEST_SUITE_P(Combos, CorruptionTest,
                         ::testing::Values(CipherCombo::kSivGcm, CipherCombo::kSivCtrMac),
                         [](const auto& info) {
                           return info.param == CipherCombo::kSivGcm ? "SivGcm" : "SivCtrMac";
                         });

// ---------------------------------------------------------------------------
// The vault files themselves, on a copy of the fixture vault "main".

class FixtureCorruptionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ifstream in(FixturesDir() / "vaults" / "main.json");
    password_ = nlohmann::json::parse(in)["password"].get<std::string>();
    path_ = CopyFixtureVault("main", tmp_).string();
  }

  Result<std::unique_ptr<Vault>> Open() { return Vault::Open(path_, password_); }

  TempDir tmp_;
  std::string path_;
  std::string password_;
};

TEST_F(FixtureCorruptionTest, CopyOpens) { ASSERT_TRUE(Open().ok()) << Open().status().ToString(); }

TEST_F(FixtureCorruptionTest, WrongPassword) {
  EXPECT_TRUE(HasCode(Vault::Open(path_, password_ + "x"), Errc::kWrongPassword));
  EXPECT_TRUE(HasCode(Vault::Open(path_, "visible password 1"), Errc::kWrongPassword));
}

TEST_F(FixtureCorruptionTest, TamperedConfigPayload) {
  const fs::path config = fs::path(path_) / "vault.cryptomator";
  const std::string token = ReadPlain(config);
  const size_t dot1 = token.find('.');
  const size_t dot2 = token.find('.', dot1 + 1);
  auto payload = DecodeBase64(token.substr(dot1 + 1, dot2 - dot1 - 1), Base64Alphabet::kUrl,
                              Base64Padding::kUnpadded);
  ASSERT_TRUE(payload.has_value());
  std::string json(AsChars(*payload));
  const size_t at = json.find("220");
  ASSERT_NE(at, std::string::npos) << json;
  json.replace(at, 3, "221");
  // Still a well-formed token, but the signature no longer matches: the
  // masterkey "does not belong" to this config.
  WritePlain(config,
             token.substr(0, dot1 + 1) +
                 EncodeBase64(AsBytes(json), Base64Alphabet::kUrl, Base64Padding::kUnpadded) +
                 token.substr(dot2));
  EXPECT_TRUE(HasCode(Open(), Errc::kWrongPassword));
  // A flipped signature character, likewise.
  std::string bad_signature = token;
  bad_signature[dot2 + 5] = bad_signature[dot2 + 5] == 'A' ? 'B' : 'A';
  WritePlain(config, bad_signature);
  EXPECT_TRUE(HasCode(Open(), Errc::kWrongPassword));
  // Garbage is not a vault.
  WritePlain(config, "garbage");
  EXPECT_TRUE(HasCode(Open(), Errc::kNotAVault));
}

TEST_F(FixtureCorruptionTest, GarbageMasterkeyFile) {
  const fs::path masterkey = fs::path(path_) / "masterkey.cryptomator";
  const std::string original = ReadPlain(masterkey);
  for (const std::string& garbage :
       {std::string(), std::string("not json"), std::string("{}"), original.substr(0, 40),
        RandomText(300, 7), std::string("{\"version\": 999}")}) {
    SCOPED_TRACE(garbage.size());
    WritePlain(masterkey, garbage);
    EXPECT_TRUE(HasCode(Open(), Errc::kNotAVault));
  }
  WritePlain(masterkey, original);
  EXPECT_TRUE(Open().ok());
}

TEST_F(FixtureCorruptionTest, FlippedBitsInFixtureFiles) {
  std::string readme_path;
  std::string cleartext(200, '\0');
  {
    auto vault = Open();
    ASSERT_TRUE(vault.ok());
    auto e = (*vault)->ResolvePath("/README.txt");
    ASSERT_TRUE(e.ok());
    readme_path = e->data_path();
    ASSERT_TRUE(ReadThrough(**vault, *e, 0, cleartext).ok());
    ASSERT_EQ(cleartext.size(), 84u);  // as the manifest says
  }
  const std::string original = ReadPlain(readme_path);
  for (uint64_t offset : {uint64_t{30}, uint64_t{68 + 20}, uint64_t{original.size() - 1}}) {
    SCOPED_TRACE(offset);
    FlipBit(readme_path, offset, 2);
    auto vault = Open();
    ASSERT_TRUE(vault.ok());
    auto e = (*vault)->ResolvePath("/README.txt");
    ASSERT_TRUE(e.ok());
    std::string buffer(200, '\0');
    EXPECT_TRUE(HasCode(ReadThrough(**vault, *e, 0, buffer), Errc::kCorrupt));
    EXPECT_LT(Matching(buffer, cleartext), 10u) << "cleartext leaked";
    FlipBit(readme_path, offset, 2);
  }
}

}  // namespace
}  // namespace vaultcore
