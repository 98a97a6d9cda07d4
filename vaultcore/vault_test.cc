// Vault: creating and unlocking vaults, and every tree operation except
// rename, with the result checked twice: through the cleartext API (names,
// kinds, content, error codes) and on disk against Cryptomator's layout, so
// a node we write is one Cryptomator can find.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vaultcore/vault_test_fixture.h"

namespace vaultcore::vault_testing {
namespace {

TEST_F(VaultTest, CreateWritesAnOpenableEmptyVault) {
  EXPECT_TRUE(fs::is_regular_file(fs::path(path_) / "vault.cryptomator"));
  EXPECT_TRUE(fs::is_regular_file(fs::path(path_) / "masterkey.cryptomator"));
  EXPECT_EQ(v().config().shortening_threshold, 220);
  EXPECT_EQ(v().config().cipher_combo, CipherCombo::kSivGcm);
  EXPECT_TRUE(Names(root()).empty());
  auto root_path = v().names().ContentDirPath("");
  ASSERT_TRUE(IsOk(root_path));
  EXPECT_EQ(root().content_path, (fs::path(path_) / *root_path).string());
  // The root's dirid.c9r holds the empty id, with the final empty chunk
  // current cryptolib writes (spec §6.3): 68 + 28 bytes.
  EXPECT_EQ(fs::file_size(root().content_path + "/dirid.c9r"), 96u);
  ExpectWellFormed();
}

TEST_F(VaultTest, CreateKeepsOptions) {
  NewVault(FastOptions(40, CipherCombo::kSivCtrMac));
  EXPECT_EQ(v().config().shortening_threshold, 40);
  EXPECT_EQ(v().config().cipher_combo, CipherCombo::kSivCtrMac);
  const Entry e = MakeFile(root(), "file", "content");
  EXPECT_EQ(Read(Lookup(root(), "file")), "content");
  EXPECT_EQ(fs::file_size(e.data_path()), 88u + 7u + 48u);  // CTRMAC header and chunk
}

TEST_F(VaultTest, CreateRefusesNonEmptyDirectory) {
  const fs::path dir = tmp_.path() / "occupied";
  fs::create_directories(dir);
  WritePlain(dir / "something", "x");
  EXPECT_TRUE(HasCode(Vault::Create(dir.string(), kPassword, FastOptions()), Errc::kExists));
  // An existing empty directory is fine.
  const fs::path empty = tmp_.path() / "empty";
  fs::create_directories(empty);
  EXPECT_TRUE(IsOk(Vault::Create(empty.string(), kPassword, FastOptions())));
}

TEST_F(VaultTest, WrongPasswordIsReported) {
  EXPECT_TRUE(HasCode(Vault::Open(path_, "wrong"), Errc::kWrongPassword));
  EXPECT_TRUE(HasCode(Vault::Open(path_, ""), Errc::kWrongPassword));
}

TEST_F(VaultTest, PasswordIsNormalisedToNfc) {
  // A password typed in NFD (macOS) unlocks a vault created with NFC.
  const fs::path dir = tmp_.path() / "nfc";
  ASSERT_TRUE(IsOk(Vault::Create(dir.string(), "p" + kNfcName, FastOptions())));
  EXPECT_TRUE(IsOk(Vault::Open(dir.string(), "p" + kNfdName)));
}

TEST_F(VaultTest, MissingFilesMeanNotAVault) {
  vault_.reset();
  EXPECT_TRUE(
      HasCode(Vault::Open((tmp_.path() / "nowhere").string(), kPassword), Errc::kNotAVault));
  const fs::path empty = tmp_.path() / "empty";
  fs::create_directories(empty);
  EXPECT_TRUE(HasCode(Vault::Open(empty.string(), kPassword), Errc::kNotAVault));

  const fs::path vault(path_);
  fs::rename(vault / "masterkey.cryptomator", vault / "masterkey.moved");
  EXPECT_TRUE(HasCode(Vault::Open(path_, kPassword), Errc::kNotAVault));
  fs::rename(vault / "masterkey.moved", vault / "masterkey.cryptomator");

  fs::rename(vault / "vault.cryptomator", vault / "vault.moved");
  EXPECT_TRUE(HasCode(Vault::Open(path_, kPassword), Errc::kNotAVault));
  fs::rename(vault / "vault.moved", vault / "vault.cryptomator");

  // Cryptomator refuses a vault without its root content directory.
  fs::rename(vault / "d", vault / "d.moved");
  EXPECT_TRUE(HasCode(Vault::Open(path_, kPassword), Errc::kNotAVault));
  fs::rename(vault / "d.moved", vault / "d");
  EXPECT_TRUE(IsOk(Vault::Open(path_, kPassword)));
}

TEST_F(VaultTest, ChangePassword) {
  const Entry dir = MakeDir(root(), "dir");
  MakeFile(dir.AsDir(), "file", "secret content");
  vault_.reset();
  const fs::path vault(path_);
  const std::string old_masterkey = ReadPlain(vault / "masterkey.cryptomator");
  const auto content_before = Snapshot(vault / "d");
  const std::string config_before = ReadPlain(vault / "vault.cryptomator");

  ASSERT_TRUE(IsOk(Vault::ChangePassword(path_, kPassword, "new password")));

  EXPECT_TRUE(HasCode(Vault::Open(path_, kPassword), Errc::kWrongPassword));
  auto reopened = Vault::Open(path_, "new password");
  ASSERT_TRUE(IsOk(reopened));
  vault_ = std::move(reopened).value();
  EXPECT_EQ(Read(Resolve("/dir/file")), "secret content");

  // The old file is kept as Cryptomator names it: <file>.<SHA-256 prefix>.bkup.
  const Sha256Digest digest = Sha256(AsBytes(old_masterkey));
  std::string tag = EncodeHex(std::span(digest).first(4));
  std::transform(tag.begin(), tag.end(), tag.begin(), ::toupper);
  const fs::path backup = vault / ("masterkey.cryptomator." + tag + ".bkup");
  ASSERT_TRUE(fs::exists(backup)) << backup;
  EXPECT_EQ(ReadPlain(backup), old_masterkey);
  EXPECT_TRUE(Snapshot(vault / "d") == content_before) << "a password change touched d/";
  EXPECT_EQ(ReadPlain(vault / "vault.cryptomator"), config_before);
  EXPECT_FALSE(fs::exists(vault / "masterkey.cryptomator.tmp"));
}

TEST_F(VaultTest, ChangePasswordWithWrongPasswordChangesNothing) {
  vault_.reset();
  const auto before = Snapshot(path_);
  EXPECT_TRUE(HasCode(Vault::ChangePassword(path_, "wrong", "new"), Errc::kWrongPassword));
  EXPECT_TRUE(Snapshot(path_) == before);
  EXPECT_TRUE(HasCode(Vault::ChangePassword((tmp_.path() / "nowhere").string(), "a", "b"),
                      Errc::kNotAVault));
}

// ---------------------------------------------------------------------------
// Creating nodes

TEST_F(VaultTest, CreateFileAndReadBack) {
  const Entry e = MakeFile(root(), "hello.txt");
  EXPECT_EQ(e.name, "hello.txt");
  EXPECT_EQ(e.kind(), NodeKind::kFile);
  EXPECT_EQ(e.attr.size, 0u);
  EXPECT_FALSE(e.shortened);
  // A non-shortened file is the regular file X.c9r, just a header so far.
  EXPECT_EQ(fs::path(e.node_path), NodePath(root(), "hello.txt"));
  EXPECT_TRUE(fs::is_regular_file(e.node_path));
  EXPECT_EQ(fs::file_size(e.node_path), 68u);

  const std::string content = RandomText(2 * kChunk + 17, rng_);
  Write(e, content);
  const Entry again = Lookup(root(), "hello.txt");
  EXPECT_EQ(again.attr.size, content.size());
  EXPECT_EQ(again.attr.fileid, e.attr.fileid);
  EXPECT_EQ(Read(again), content);
  EXPECT_EQ(Names(root()), std::vector<std::string>{"hello.txt"});
  ExpectWellFormed();
}

TEST_F(VaultTest, CreateFileExclusiveAndNot) {
  const Entry e = MakeFile(root(), "f", "keep me");
  EXPECT_TRUE(HasCode(v().CreateFile(root(), "f", 0644), Errc::kExists));
  auto existing = v().CreateFile(root(), "f", 0644, /*exclusive=*/false);
  ASSERT_TRUE(IsOk(existing));
  EXPECT_EQ(existing->attr.fileid, e.attr.fileid);
  EXPECT_EQ(Read(*existing), "keep me");  // not truncated

  MakeDir(root(), "d");
  EXPECT_TRUE(HasCode(v().CreateFile(root(), "d", 0644), Errc::kExists));
  EXPECT_TRUE(HasCode(v().CreateFile(root(), "d", 0644, false), Errc::kIsDirectory));
  EXPECT_TRUE(HasCode(v().MakeDirectory(root(), "f", 0755), Errc::kExists));
  EXPECT_TRUE(HasCode(v().MakeSymlink(root(), "d", "x"), Errc::kExists));
  ExpectWellFormed();
}

TEST_F(VaultTest, InvalidNamesAreRefused) {
  for (std::string_view bad : {std::string_view(""), std::string_view("."), std::string_view(".."),
                               std::string_view("a/b"), std::string_view("a\0b", 3)}) {
    SCOPED_TRACE(std::string(bad));
    EXPECT_TRUE(HasCode(v().CreateFile(root(), bad, 0644), Errc::kInvalidArgument));
    EXPECT_TRUE(HasCode(v().MakeDirectory(root(), bad, 0755), Errc::kInvalidArgument));
    EXPECT_TRUE(HasCode(v().MakeSymlink(root(), bad, "t"), Errc::kInvalidArgument));
    EXPECT_TRUE(HasCode(v().Lookup(root(), bad), Errc::kInvalidArgument));
  }
  MakeFile(root(), "ok");
  EXPECT_TRUE(HasCode(v().Rename(root(), "ok", root(), ".."), Errc::kInvalidArgument));
  EXPECT_TRUE(HasCode(v().Rename(root(), "ok", root(), "a/b"), Errc::kInvalidArgument));
  EXPECT_TRUE(HasCode(v().MakeSymlink(root(), "link", ""), Errc::kInvalidArgument));
  EXPECT_EQ(Names(root()), std::vector<std::string>{"ok"});
  ExpectWellFormed();
}

TEST_F(VaultTest, MakeDirectoryLayout) {
  const Entry a = MakeDir(root(), "a");
  EXPECT_EQ(a.kind(), NodeKind::kDirectory);
  // X.c9r/dir.c9r holds the new id: a v4 UUID in canonical form.
  const fs::path node = NodePath(root(), "a");
  EXPECT_EQ(fs::path(a.node_path), node);
  const std::string id = ReadPlain(node / "dir.c9r");
  EXPECT_EQ(id.size(), 36u);
  EXPECT_EQ(id, a.dir_id);
  EXPECT_EQ(fs::directory_iterator(node)->path().filename(), "dir.c9r");
  // Its content directory is d/XX/YYYY… of that id, with dirid.c9r.
  auto content = v().names().ContentDirPath(id);
  ASSERT_TRUE(IsOk(content));
  EXPECT_EQ(a.data_path(), (fs::path(path_) / *content).string());
  EXPECT_TRUE(fs::is_directory(a.data_path()));
  auto dirid = ReadSmallEncryptedFile(v().cryptor(), a.data_path() + "/dirid.c9r", 100);
  ASSERT_TRUE(IsOk(dirid));
  EXPECT_EQ(*dirid, id);
  EXPECT_EQ(fs::file_size(a.data_path() + "/dirid.c9r"), 68u + 36u + 28u);

  const Entry b = MakeDir(a.AsDir(), "b");
  EXPECT_NE(b.dir_id, a.dir_id);
  MakeFile(b.AsDir(), "deep", "x");
  EXPECT_EQ(Read(Resolve("/a/b/deep")), "x");
  EXPECT_EQ(Names(a.AsDir()), std::vector<std::string>{"b"});
  auto again = v().Directory(a.dir_id);
  ASSERT_TRUE(IsOk(again));
  EXPECT_EQ(again->content_path, a.data_path());
  ExpectWellFormed();
}

TEST_F(VaultTest, MakeSymlinkAndReadLink) {
  // Targets are stored verbatim: relative, absolute, dangling, non-NFC.
  const std::vector<std::string> targets = {"file.txt", "../up/x", "/abs/path",
                                            "dangling", kNfdName,  std::string(5000, 't')};
  int i = 0;
  for (const std::string& target : targets) {
    const std::string name = "link" + std::to_string(i++);
    const Entry e = MakeLink(root(), name, target);
    EXPECT_EQ(e.kind(), NodeKind::kSymlink);
    EXPECT_EQ(e.attr.size, target.size());
    EXPECT_EQ(ReadLink(Lookup(root(), name)), target);
    EXPECT_TRUE(fs::is_regular_file(NodePath(root(), name) / "symlink.c9r"));
  }
  const Entry file = MakeFile(root(), "file");
  EXPECT_TRUE(HasCode(v().ReadLink(file), Errc::kInvalidArgument));
  EXPECT_FALSE(v().OpenFile(Lookup(root(), "link0")).ok());
  ExpectWellFormed();
}

TEST_F(VaultTest, ShortenedNodesLayout) {
  // Threshold 220: 146 bytes give exactly 220 characters (kept), 147 are
  // shortened (spec §5.4).
  const std::string n146(146, 'a'), n147(147, 'b'), n200(200, 'c');
  EXPECT_FALSE(Shortened(root(), n146));
  EXPECT_TRUE(Shortened(root(), n147));
  const Entry f146 = MakeFile(root(), n146, "146");
  const Entry f147 = MakeFile(root(), n147, "147");
  const Entry d200 = MakeDir(root(), n200);
  const Entry l200 = MakeLink(d200.AsDir(), n200, "target");
  EXPECT_FALSE(f146.shortened);
  EXPECT_TRUE(f147.shortened);
  EXPECT_TRUE(d200.shortened);
  EXPECT_TRUE(l200.shortened);

  auto expect_c9s = [&](const DirRef& dir, const std::string& name, const char* kind_file) {
    auto ciphertext = v().names().EncryptName(name, dir.id);
    ASSERT_TRUE(IsOk(ciphertext));
    const fs::path node = fs::path(dir.content_path) / NameCipher::ShortenedName(*ciphertext);
    EXPECT_EQ(node.filename().string().size(), 32u);
    EXPECT_TRUE(fs::is_directory(node)) << name.size();
    EXPECT_EQ(ReadPlain(node / "name.c9s"), *ciphertext);
    EXPECT_TRUE(fs::is_regular_file(node / kind_file)) << kind_file;
  };
  expect_c9s(root(), n147, "contents.c9r");
  expect_c9s(root(), n200, "dir.c9r");
  expect_c9s(d200.AsDir(), n200, "symlink.c9r");
  EXPECT_TRUE(fs::is_regular_file(NodePath(root(), n146)));

  EXPECT_EQ(Read(Lookup(root(), n147)), "147");
  EXPECT_EQ(ReadLink(Lookup(d200.AsDir(), n200)), "target");
  EXPECT_EQ(Names(root()), (std::vector<std::string>{n146, n147, n200}));
  ExpectWellFormed();
}

TEST_F(VaultTest, SmallThresholdShortensShortNames) {
  NewVault(FastOptions(40));
  // 4·⌈(16+n)/3⌉ + 4 > 40 from n = 12 on.
  EXPECT_FALSE(Shortened(root(), std::string(11, 'x')));
  EXPECT_TRUE(Shortened(root(), std::string(12, 'x')));
  const Entry d = MakeDir(root(), "directory-name");
  MakeFile(d.AsDir(), "a-longer-file-name", "content");
  MakeLink(d.AsDir(), "short", "t");
  EXPECT_TRUE(d.shortened);
  EXPECT_EQ(Read(Resolve("directory-name/a-longer-file-name")), "content");
  ExpectWellFormed();
}

// ---------------------------------------------------------------------------
// Removing nodes

TEST_F(VaultTest, RemoveFilesAndSymlinks) {
  const Entry f = MakeFile(root(), "f", "x");
  MakeFile(root(), std::string(180, 'l'), "long");
  MakeLink(root(), "l", "target");
  MakeLink(root(), std::string(180, 's'), "target");
  const Entry d = MakeDir(root(), "d");
  EXPECT_TRUE(IsOk(v().Remove(root(), "f")));
  EXPECT_TRUE(IsOk(v().Remove(root(), std::string(180, 'l'))));
  EXPECT_TRUE(IsOk(v().Remove(root(), "l")));
  EXPECT_TRUE(IsOk(v().Remove(root(), std::string(180, 's'))));
  EXPECT_TRUE(HasCode(v().Remove(root(), "f"), Errc::kNotFound));
  EXPECT_TRUE(HasCode(v().Lookup(root(), "f"), Errc::kNotFound));
  EXPECT_TRUE(HasCode(v().Remove(root(), "d"), Errc::kIsDirectory));
  EXPECT_FALSE(fs::exists(f.node_path));
  EXPECT_EQ(Names(root()), std::vector<std::string>{"d"});
  ExpectWellFormed();
}

TEST_F(VaultTest, RemoveDirectory) {
  const Entry d = MakeDir(root(), "d");
  const Entry sub = MakeDir(d.AsDir(), "sub");
  MakeFile(sub.AsDir(), "f");
  MakeFile(root(), "file");
  EXPECT_TRUE(HasCode(v().RemoveDirectory(root(), "d"), Errc::kNotEmpty));
  EXPECT_TRUE(HasCode(v().RemoveDirectory(d.AsDir(), "sub"), Errc::kNotEmpty));
  EXPECT_TRUE(HasCode(v().RemoveDirectory(root(), "file"), Errc::kNotDirectory));
  EXPECT_TRUE(HasCode(v().RemoveDirectory(root(), "missing"), Errc::kNotFound));
  EXPECT_EQ(Read(Resolve("d/sub/f")), "");  // nothing was removed

  ASSERT_TRUE(IsOk(v().Remove(sub.AsDir(), "f")));
  ASSERT_TRUE(IsOk(v().RemoveDirectory(d.AsDir(), "sub")));
  ASSERT_TRUE(IsOk(v().RemoveDirectory(root(), "d")));
  // Content directory and node are gone; the shared d/XX level stays.
  EXPECT_FALSE(fs::exists(d.data_path()));
  EXPECT_FALSE(fs::exists(sub.data_path()));
  EXPECT_FALSE(fs::exists(d.node_path));
  EXPECT_TRUE(fs::exists(fs::path(d.data_path()).parent_path()));
  EXPECT_TRUE(HasCode(v().Directory(d.dir_id), Errc::kNotFound));
  EXPECT_EQ(Names(root()), std::vector<std::string>{"file"});
  ExpectWellFormed();
}

TEST_F(VaultTest, RemoveShortenedDirectory) {
  const std::string name(200, 'd');
  const Entry d = MakeDir(root(), name);
  MakeFile(d.AsDir(), "f");
  EXPECT_TRUE(HasCode(v().RemoveDirectory(root(), name), Errc::kNotEmpty));
  ASSERT_TRUE(IsOk(v().Remove(d.AsDir(), "f")));
  ASSERT_TRUE(IsOk(v().RemoveDirectory(root(), name)));
  EXPECT_FALSE(fs::exists(d.node_path));
  EXPECT_TRUE(Names(root()).empty());
  ExpectWellFormed();
}

TEST_F(VaultTest, RemoveDirectoryIgnoresUnknownFiles) {
  // Stray files (sync tool litter) do not make a directory "non-empty".
  const Entry d = MakeDir(root(), "d");
  WritePlain(fs::path(d.data_path()) / ".DS_Store", "junk");
  WritePlain(fs::path(d.data_path()) / "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.c9r", "not a node");
  EXPECT_TRUE(Names(d.AsDir()).empty());
  ASSERT_TRUE(IsOk(v().RemoveDirectory(root(), "d")));
  EXPECT_FALSE(fs::exists(d.data_path()));
  ExpectWellFormed();
}

// ---------------------------------------------------------------------------
// Renaming

TEST_F(VaultTest, ParentOfNestedDirectories) {
  const Entry a = MakeDir(root(), "a");
  const Entry b = MakeDir(a.AsDir(), "b");
  const Entry c = MakeDir(b.AsDir(), std::string(180, 'c'));
  auto expect_parent = [&](const std::string& child_id, const std::string& parent_id) {
    auto child = v().Directory(child_id);
    ASSERT_TRUE(IsOk(child));
    auto parent = v().Parent(*child);
    ASSERT_TRUE(IsOk(parent));
    EXPECT_EQ(parent->id, parent_id);
  };
  expect_parent(c.dir_id, b.dir_id);
  expect_parent(b.dir_id, a.dir_id);
  expect_parent(a.dir_id, "");
  expect_parent("", "");  // the root is its own parent
  EXPECT_EQ(Resolve("a/b/..").dir_id, a.dir_id);

  // A fresh Vault knows nothing of the tree: it finds parents by indexing.
  Reopen();
  expect_parent(c.dir_id, b.dir_id);
  Reopen();
  expect_parent(b.dir_id, a.dir_id);
  expect_parent(a.dir_id, "");

  // After a move the new parent is reported, also after re-opening.
  ASSERT_TRUE(IsOk(v().Rename(a.AsDir(), "b", root(), "b")));
  expect_parent(b.dir_id, "");
  expect_parent(c.dir_id, b.dir_id);
  Reopen();
  expect_parent(b.dir_id, "");
  ExpectWellFormed();
}

TEST_F(VaultTest, FileIdsAreStableAcrossRenameAndReopen) {
  const Entry d1 = MakeDir(root(), "d1");
  const Entry d2 = MakeDir(root(), "d2");
  const Entry f = MakeFile(d1.AsDir(), "f", "x");
  const Entry d = MakeDir(d1.AsDir(), "d");
  const Entry l = MakeLink(d1.AsDir(), "l", "t");
  // Distinct nodes have distinct ids.
  const std::set<uint64_t> ids = {f.attr.fileid, d.attr.fileid, l.attr.fileid, d1.attr.fileid,
                                  d2.attr.fileid};
  EXPECT_EQ(ids.size(), 5u);
  const std::string long_name(190, 'n');
  for (const auto& [name, original] :
       std::vector<std::pair<std::string, Entry>>{{"f", f}, {"d", d}, {"l", l}}) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(IsOk(v().Rename(d1.AsDir(), name, d2.AsDir(), long_name)));
    EXPECT_EQ(Lookup(d2.AsDir(), long_name).attr.fileid, original.attr.fileid);
    ASSERT_TRUE(IsOk(v().Rename(d2.AsDir(), long_name, d1.AsDir(), name + "2")));
    EXPECT_EQ(Lookup(d1.AsDir(), name + "2").attr.fileid, original.attr.fileid);
  }
  Write(Lookup(d1.AsDir(), "f2"), std::string(3 * kChunk, 'w'));
  Reopen();
  EXPECT_EQ(Resolve("d1/f2").attr.fileid, f.attr.fileid);
  EXPECT_EQ(Resolve("d1/d2").attr.fileid, d.attr.fileid);
  EXPECT_EQ(Resolve("d1/l2").attr.fileid, l.attr.fileid);
  EXPECT_EQ(Resolve("d1").attr.fileid, d1.attr.fileid);
  ExpectWellFormed();
}

TEST_F(VaultTest, DirectoryRefsSurviveRenames) {
  // A DirRef is the id and content directory, neither of which a rename
  // changes: an NFS handle held across a rename keeps working.
  const Entry a = MakeDir(root(), "a");
  const DirRef ref = a.AsDir();
  ASSERT_TRUE(IsOk(v().Rename(root(), "a", root(), std::string(200, 'z'))));
  MakeFile(ref, "created-after-rename", "ok");
  EXPECT_EQ(Read(Resolve(std::string(200, 'z') + "/created-after-rename")), "ok");
  ExpectWellFormed();
}

// ---------------------------------------------------------------------------
// Read-only vaults

TEST_F(VaultTest, ReadOnlyVaultRefusesMutations) {
  const Entry d = MakeDir(root(), "d");
  MakeFile(root(), "f", "content");
  MakeLink(root(), "l", "t");
  Reopen({.read_only = true});
  EXPECT_TRUE(v().read_only());
  const auto before = Snapshot(path_);
  EXPECT_TRUE(HasCode(v().CreateFile(root(), "new", 0644), Errc::kReadOnly));
  EXPECT_TRUE(HasCode(v().CreateFile(root(), "f", 0644, false), Errc::kReadOnly));
  EXPECT_TRUE(HasCode(v().MakeDirectory(root(), "new", 0755), Errc::kReadOnly));
  EXPECT_TRUE(HasCode(v().MakeSymlink(root(), "new", "t"), Errc::kReadOnly));
  EXPECT_TRUE(HasCode(v().Remove(root(), "f"), Errc::kReadOnly));
  EXPECT_TRUE(HasCode(v().RemoveDirectory(root(), "d"), Errc::kReadOnly));
  EXPECT_TRUE(HasCode(v().Rename(root(), "f", root(), "g"), Errc::kReadOnly));
  const Entry f = Lookup(root(), "f");
  EXPECT_TRUE(HasCode(v().SetMode(f, 0600), Errc::kReadOnly));
  EXPECT_TRUE(HasCode(v().SetTimes(f, timespec{1, 0}, timespec{1, 0}), Errc::kReadOnly));
  // Reading still works; the file is opened read-only, so writes fail.
  EXPECT_EQ(Read(f), "content");
  auto file = v().OpenFile(f);
  ASSERT_TRUE(IsOk(file));
  EXPECT_FALSE((*file)->Write(0, AsBytes("x")).ok());
  EXPECT_FALSE((*file)->Truncate(0).ok());
  EXPECT_EQ(ReadLink(Lookup(root(), "l")), "t");
  EXPECT_TRUE(Snapshot(path_) == before) << "a read-only vault changed on disk";
}

TEST_F(VaultTest, FindOpenFileNeverOpens) {
  auto created = v().CreateFile(root(), "f", 0644);
  ASSERT_TRUE(IsOk(created));
  EXPECT_EQ(v().FindOpenFile(*created), nullptr);
  {
    auto file = v().OpenFile(*created);
    ASSERT_TRUE(IsOk(file));
    EXPECT_EQ(v().FindOpenFile(*created), *file);
  }
  EXPECT_EQ(v().FindOpenFile(*created), nullptr) << "the last user closed it";
  EXPECT_EQ(v().FindOpenFile(v().RootEntry().value()), nullptr);
}

// A file created with `opened` is the one every later OpenFile shares,
// with its header already in memory, for short and shortened names alike.
TEST_F(VaultTest, CreateFileHandsBackTheSharedOpenFile) {
  for (const std::string& name : {std::string("short"), std::string(300, 'n')}) {
    SCOPED_TRACE(name.size());
    std::shared_ptr<EncryptedFile> opened;
    auto created = v().CreateFile(root(), name, 0644, /*exclusive=*/true, &opened);
    ASSERT_TRUE(IsOk(created));
    ASSERT_NE(opened, nullptr);
    EXPECT_TRUE(opened->header_nonce().has_value());
    EXPECT_EQ(v().FindOpenFile(*created), opened);
    auto again = v().OpenFile(*created);
    ASSERT_TRUE(IsOk(again));
    EXPECT_EQ(*again, opened);
    ASSERT_TRUE(IsOk(opened->Write(0, AsBytes(std::string_view("via the created file")))));
    EXPECT_EQ(Read(*created), "via the created file");
  }
  std::shared_ptr<EncryptedFile> untouched;
  EXPECT_TRUE(HasCode(v().CreateFile(root(), "short", 0644, true, &untouched), Errc::kExists));
  EXPECT_EQ(untouched, nullptr) << "only a file it creates is handed back";
  ExpectWellFormed();
}

// The owner of a 0444 file writes it through the descriptor it opened (NFS
// CREATE 0444 then WRITE). Root bypasses permission bits, so the check runs
// in a child process that drops to an unprivileged uid.
TEST_F(VaultTest, OwnerWritesItsReadOnlyFile) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to switch to an unprivileged uid";
  constexpr uid_t kNobody = 65534;
  for (const auto& e : std::filesystem::recursive_directory_iterator(path_)) {
    ASSERT_EQ(lchown(e.path().c_str(), kNobody, kNobody), 0);
  }
  ASSERT_EQ(chown(path_.c_str(), kNobody, kNobody), 0);
  std::filesystem::permissions(std::filesystem::path(path_).parent_path(),
                               std::filesystem::perms::others_exec,
                               std::filesystem::perm_options::add);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (setegid(kNobody) != 0 || seteuid(kNobody) != 0) _exit(10);
    auto vault = Vault::Open(path_, kPassword);
    if (!vault.ok()) _exit(11);
    auto created = (*vault)->CreateFile((*vault)->Root(), "ro", 0444);
    if (!created.ok()) _exit(12);
    auto file = (*vault)->OpenFile(*created);
    if (!file.ok() || !(*file)->Write(0, AsBytes("data")).ok()) _exit(13);
    struct stat st {};
    if (stat(created->data_path().c_str(), &st) != 0 || (st.st_mode & 07777) != 0444) _exit(14);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "10 setuid, 11 open, 12 create, 13 write, 14 mode";
}

// ---------------------------------------------------------------------------
// Attributes

TEST_F(VaultTest, SetModeAndTimes) {
  const Entry f = MakeFile(root(), "f", "x");
  ASSERT_TRUE(IsOk(v().SetMode(f, 0600)));
  const timespec mtime{1'600'000'000, 123};
  ASSERT_TRUE(IsOk(v().SetTimes(f, std::nullopt, mtime)));
  const Entry again = Lookup(root(), "f");
  EXPECT_EQ(again.attr.mode, 0600u);
  EXPECT_EQ(again.attr.mtime.tv_sec, mtime.tv_sec);
  EXPECT_EQ(again.attr.mtime.tv_nsec, mtime.tv_nsec);
  const Entry d = MakeDir(root(), "d");
  ASSERT_TRUE(IsOk(v().SetMode(d, 0700)));
  EXPECT_EQ(Lookup(root(), "d").attr.mode, 0700u);
}

// ---------------------------------------------------------------------------
// Thread safety

TEST_F(VaultTest, ConcurrentCreateWriteRead) {
  constexpr int kThreads = 4;
  constexpr int kFilesPerThread = 8;
  std::atomic<int> failures{0};
  std::atomic<bool> done{false};
  auto fail = [&](const std::string& what, const Status& s) {
    ADD_FAILURE() << what << ": " << s.ToString();
    ++failures;
  };
  auto content_for = [](int t, int i) {
    // Sizes around chunk boundaries so writes do read-modify-write.
    const size_t size =
        (static_cast<size_t>(i) * 9973 + static_cast<size_t>(t) * kChunk) % (3 * kChunk + 5);
    std::string s(size, '\0');
    for (size_t k = 0; k < size; ++k) s[k] = static_cast<char>('a' + (k * 7 + t + i) % 26);
    return s;
  };
  auto worker = [&](int t) {
    // Every thread creates in the root (contended) and in its own dir.
    auto dir = v().MakeDirectory(root(), "t" + std::to_string(t), 0755);
    if (!dir.ok()) return fail("mkdir", dir.status());
    for (int i = 0; i < kFilesPerThread; ++i) {
      const DirRef where = i % 2 ? root() : dir->AsDir();
      const std::string name = "f" + std::to_string(t) + "-" + std::to_string(i) +
                               (i % 3 == 0 ? std::string(160, 'L') : "");
      auto e = v().CreateFile(where, name, 0644);
      if (!e.ok()) return fail("create " + name, e.status());
      auto file = v().OpenFile(*e);
      if (!file.ok()) return fail("open " + name, file.status());
      const std::string content = content_for(t, i);
      // Two writes, the second overlapping the first's end.
      const size_t half = content.size() / 2;
      Status s = (*file)->Write(0, AsBytes(std::string_view(content).substr(0, half + 1)));
      if (s.ok()) s = (*file)->Write(half, AsBytes(std::string_view(content).substr(half)));
      if (!s.ok()) return fail("write " + name, s);
      auto again = v().Lookup(where, name);
      if (!again.ok()) return fail("lookup " + name, again.status());
      auto reread = v().OpenFile(*again);
      if (!reread.ok()) return fail("reopen " + name, reread.status());
      std::string got(content.size() + 10, '\0');
      auto n = (*reread)->Read(0, std::span(reinterpret_cast<uint8_t*>(got.data()), got.size()));
      if (!n.ok()) return fail("read " + name, n.status());
      got.resize(*n);
      if (got != content) return fail("content of " + name, Status(Errc::kCorrupt, "differs"));
    }
  };
  // Meanwhile another thread keeps listing and resolving.
  std::thread lister([&] {
    while (!done.load()) {
      auto entries = v().List(root());
      if (!entries.ok()) return fail("list", entries.status());
      for (const Entry& e : *entries) {
        if (e.kind() == NodeKind::kDirectory && !v().List(e.AsDir()).ok()) {
          return fail("list " + e.name, Status(Errc::kIo, "failed"));
        }
      }
    }
  });
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(worker, t);
  for (auto& t : threads) t.join();
  done = true;
  lister.join();
  ASSERT_EQ(failures.load(), 0);

  Reopen();
  size_t in_root = 0;
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kFilesPerThread; ++i) {
      const std::string name = "f" + std::to_string(t) + "-" + std::to_string(i) +
                               (i % 3 == 0 ? std::string(160, 'L') : "");
      const std::string path = (i % 2 ? "" : "t" + std::to_string(t) + "/") + name;
      EXPECT_EQ(Read(Resolve(path)), content_for(t, i)) << path;
      if (i % 2) ++in_root;
    }
  }
  EXPECT_EQ(Names(root()).size(), in_root + kThreads);
  ExpectWellFormed();
}

TEST_F(VaultTest, AttributeCacheShowsOwnChangesAtOnceAndOthersAfterTheTtl) {
  using namespace std::chrono_literals;
  v().SetAttributeCacheTtl(1h);
  Entry file = MakeFile(root(), "f", "12345");
  ASSERT_TRUE(IsOk(v().Refresh(file)));
  EXPECT_EQ(file.attr.size, 5u);

  // Changes through this Vault: content, size, mode, times.
  Write(file, "more", 5);
  ASSERT_TRUE(IsOk(v().Refresh(file)));
  EXPECT_EQ(file.attr.size, 9u);
  {
    auto open = v().OpenFile(file);
    ASSERT_TRUE(IsOk(open));
    ASSERT_TRUE(IsOk((*open)->Truncate(2)));
  }
  ASSERT_TRUE(IsOk(v().Refresh(file)));
  EXPECT_EQ(file.attr.size, 2u);
  ASSERT_TRUE(IsOk(v().SetMode(file, 0600)));
  ASSERT_TRUE(IsOk(v().Refresh(file)));
  EXPECT_EQ(file.attr.mode, 0600u);
  ASSERT_TRUE(IsOk(v().SetTimes(file, std::nullopt, timespec{1000, 5})));
  ASSERT_TRUE(IsOk(v().Refresh(file)));
  EXPECT_EQ(file.attr.mtime.tv_sec, 1000);
  ASSERT_TRUE(IsOk(v().Remove(root(), "f")));
  EXPECT_FALSE(v().Refresh(file).ok());

  // A change by someone else (here a second Vault on the same directory)
  // shows once the TTL has passed.
  Entry other_file = MakeFile(root(), "g", "abc");
  v().SetAttributeCacheTtl(50ms);
  ASSERT_TRUE(IsOk(v().Refresh(other_file)));
  auto other = Vault::Open(path_, kPassword);
  ASSERT_TRUE(IsOk(other));
  {
    auto open = (*other)->OpenFile(other_file);
    ASSERT_TRUE(IsOk(open));
    ASSERT_TRUE(IsOk((*open)->Write(3, AsBytes(std::string_view("defg")))));
  }
  ASSERT_TRUE(IsOk(v().Refresh(other_file)));
  EXPECT_EQ(other_file.attr.size, 3u);  // still the cached size
  std::this_thread::sleep_for(80ms);
  ASSERT_TRUE(IsOk(v().Refresh(other_file)));
  EXPECT_EQ(other_file.attr.size, 7u);
}

}  // namespace
}  // namespace vaultcore::vault_testing
