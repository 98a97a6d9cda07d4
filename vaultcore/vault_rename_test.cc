// Vault::Rename: POSIX rename semantics mapped onto Cryptomator's order of
// operations, for files, directories and symlinks, across directories,
// over existing targets, and between shortened and plain names.
#include "vaultcore/vault_test_fixture.h"

namespace vaultcore::vault_testing {
namespace {

TEST_F(VaultTest, RenameFileWithinDirectory) {
  const Entry f = MakeFile(root(), "old", "content");
  ASSERT_TRUE(IsOk(v().Rename(root(), "old", root(), "new")));
  EXPECT_TRUE(HasCode(v().Lookup(root(), "old"), Errc::kNotFound));
  const Entry moved = Lookup(root(), "new");
  EXPECT_EQ(Read(moved), "content");
  EXPECT_EQ(moved.attr.fileid, f.attr.fileid);
  EXPECT_EQ(Names(root()), std::vector<std::string>{"new"});
  ExpectWellFormed();
}

TEST_F(VaultTest, RenameFileAcrossDirectories) {
  const Entry a = MakeDir(root(), "a");
  const Entry b = MakeDir(root(), "b");
  const Entry f = MakeFile(a.AsDir(), "f", "content");
  ASSERT_TRUE(IsOk(v().Rename(a.AsDir(), "f", b.AsDir(), "g")));
  EXPECT_TRUE(Names(a.AsDir()).empty());
  EXPECT_EQ(Names(b.AsDir()), std::vector<std::string>{"g"});
  EXPECT_EQ(Read(Resolve("b/g")), "content");
  EXPECT_EQ(Resolve("b/g").attr.fileid, f.attr.fileid);
  // And back up to the root under the same name.
  ASSERT_TRUE(IsOk(v().Rename(b.AsDir(), "g", root(), "g")));
  EXPECT_EQ(Read(Resolve("g")), "content");
  ExpectWellFormed();
}

TEST_F(VaultTest, RenameFileOverExistingFile) {
  const Entry src = MakeFile(root(), "src", "new content");
  MakeFile(root(), "dst", "old content that is longer");
  ASSERT_TRUE(IsOk(v().Rename(root(), "src", root(), "dst")));
  EXPECT_EQ(Names(root()), std::vector<std::string>{"dst"});
  const Entry dst = Lookup(root(), "dst");
  EXPECT_EQ(Read(dst), "new content");
  EXPECT_EQ(dst.attr.fileid, src.attr.fileid);
  // Over a shortened file, from a shortened file.
  const std::string long1(160, 'x'), long2(170, 'y');
  MakeFile(root(), long1, "one");
  MakeFile(root(), long2, "two");
  ASSERT_TRUE(IsOk(v().Rename(root(), long1, root(), long2)));
  EXPECT_EQ(Read(Lookup(root(), long2)), "one");
  ASSERT_TRUE(IsOk(v().Rename(root(), long2, root(), "dst")));
  EXPECT_EQ(Names(root()), std::vector<std::string>{"dst"});
  EXPECT_EQ(Read(Lookup(root(), "dst")), "one");
  ExpectWellFormed();
}

TEST_F(VaultTest, RenameDirectoryOverEmptyDirectory) {
  const Entry src = MakeDir(root(), "src");
  MakeFile(src.AsDir(), "child", "c");
  const Entry dst = MakeDir(root(), "dst");
  ASSERT_TRUE(IsOk(v().Rename(root(), "src", root(), "dst")));
  EXPECT_EQ(Names(root()), std::vector<std::string>{"dst"});
  const Entry moved = Lookup(root(), "dst");
  EXPECT_EQ(moved.dir_id, src.dir_id);
  EXPECT_EQ(Read(Resolve("dst/child")), "c");
  // The replaced directory is gone, content directory included.
  EXPECT_FALSE(fs::exists(dst.data_path()));
  EXPECT_TRUE(HasCode(v().Directory(dst.dir_id), Errc::kNotFound));
  ExpectWellFormed();
}

TEST_F(VaultTest, RenameDirectoryOverNonEmptyDirectory) {
  MakeDir(root(), "src");
  const Entry dst = MakeDir(root(), "dst");
  MakeFile(dst.AsDir(), "keep", "k");
  EXPECT_TRUE(HasCode(v().Rename(root(), "src", root(), "dst"), Errc::kNotEmpty));
  EXPECT_EQ(Names(root()), (std::vector<std::string>{"dst", "src"}));
  EXPECT_EQ(Read(Resolve("dst/keep")), "k");
  ExpectWellFormed();
}

TEST_F(VaultTest, RenameDirectoryIntoItsOwnSubtree) {
  const Entry a = MakeDir(root(), "a");
  const Entry b = MakeDir(a.AsDir(), "b");
  const Entry c = MakeDir(b.AsDir(), "c");
  EXPECT_TRUE(HasCode(v().Rename(root(), "a", a.AsDir(), "x"), Errc::kInvalidArgument));
  EXPECT_TRUE(HasCode(v().Rename(root(), "a", c.AsDir(), "a"), Errc::kInvalidArgument));
  EXPECT_TRUE(HasCode(v().Rename(a.AsDir(), "b", c.AsDir(), "b"), Errc::kInvalidArgument));
  // Also when the vault learned nothing about the tree yet.
  Reopen();
  auto c_dir = v().Directory(c.dir_id);
  ASSERT_TRUE(IsOk(c_dir));
  EXPECT_TRUE(HasCode(v().Rename(root(), "a", *c_dir, "a"), Errc::kInvalidArgument));
  // Moving a directory up out of itself is fine.
  EXPECT_TRUE(IsOk(v().Rename(b.AsDir(), "c", root(), "c")));
  EXPECT_EQ(Names(root()), (std::vector<std::string>{"a", "c"}));
  ExpectWellFormed();
}

TEST_F(VaultTest, RenameOverItsOwnParent) {
  // rename("a/b", "a"): the target is not empty (it holds the source).
  const Entry a = MakeDir(root(), "a");
  MakeDir(a.AsDir(), "b");
  EXPECT_TRUE(HasCode(v().Rename(a.AsDir(), "b", root(), "a"), Errc::kNotEmpty));
  EXPECT_EQ(Names(a.AsDir()), std::vector<std::string>{"b"});
  ExpectWellFormed();
}

TEST_F(VaultTest, RenameKindMismatches) {
  MakeFile(root(), "file", "f");
  MakeDir(root(), "dir");
  MakeDir(root(), "dir2");
  MakeLink(root(), "link", "t");
  EXPECT_TRUE(HasCode(v().Rename(root(), "file", root(), "dir"), Errc::kIsDirectory));
  EXPECT_TRUE(HasCode(v().Rename(root(), "link", root(), "dir"), Errc::kIsDirectory));
  EXPECT_TRUE(HasCode(v().Rename(root(), "dir", root(), "file"), Errc::kNotDirectory));
  EXPECT_TRUE(HasCode(v().Rename(root(), "dir", root(), "link"), Errc::kNotDirectory));
  EXPECT_EQ(Names(root()), (std::vector<std::string>{"dir", "dir2", "file", "link"}));
  EXPECT_EQ(Read(Lookup(root(), "file")), "f");
  ExpectWellFormed();
}

TEST_F(VaultTest, RenameReplacesAcrossFileAndSymlink) {
  MakeFile(root(), "file", "f");
  MakeLink(root(), "link", "target");
  MakeFile(root(), "file2", "f2");
  ASSERT_TRUE(IsOk(v().Rename(root(), "link", root(), "file")));  // symlink over file
  EXPECT_EQ(Lookup(root(), "file").kind(), NodeKind::kSymlink);
  EXPECT_EQ(ReadLink(Lookup(root(), "file")), "target");
  ASSERT_TRUE(IsOk(v().Rename(root(), "file2", root(), "file")));  // file over symlink
  EXPECT_EQ(Lookup(root(), "file").kind(), NodeKind::kFile);
  EXPECT_EQ(Read(Lookup(root(), "file")), "f2");
  MakeLink(root(), "l1", "one");
  MakeLink(root(), "l2", "two");
  ASSERT_TRUE(IsOk(v().Rename(root(), "l1", root(), "l2")));  // symlink over symlink
  EXPECT_EQ(ReadLink(Lookup(root(), "l2")), "one");
  EXPECT_EQ(Names(root()), (std::vector<std::string>{"file", "l2"}));
  ExpectWellFormed();
}

TEST_F(VaultTest, RenameSymlinkAcrossDirectories) {
  const Entry d = MakeDir(root(), "d");
  const Entry l = MakeLink(root(), "link", "../somewhere");
  ASSERT_TRUE(IsOk(v().Rename(root(), "link", d.AsDir(), "moved")));
  const Entry moved = Lookup(d.AsDir(), "moved");
  EXPECT_EQ(moved.kind(), NodeKind::kSymlink);
  EXPECT_EQ(ReadLink(moved), "../somewhere");  // verbatim, not rewritten
  EXPECT_EQ(moved.attr.fileid, l.attr.fileid);
  EXPECT_TRUE(Names(root()) == std::vector<std::string>{"d"});
  ExpectWellFormed();
}

TEST_F(VaultTest, RenameOntoItselfChangesNothing) {
  MakeFile(root(), "f", "x");
  MakeDir(root(), "d");
  const auto before = Snapshot(path_);
  EXPECT_TRUE(IsOk(v().Rename(root(), "f", root(), "f")));
  EXPECT_TRUE(IsOk(v().Rename(root(), "d", root(), "d")));
  EXPECT_TRUE(Snapshot(path_) == before);
}

TEST_F(VaultTest, RenameMissingSource) {
  MakeDir(root(), "d");
  EXPECT_TRUE(HasCode(v().Rename(root(), "nope", root(), "x"), Errc::kNotFound));
  EXPECT_EQ(Names(root()), std::vector<std::string>{"d"});
}

// Every kind moves between shortened and non-shortened names, both ways and
// across directories, with its content (or children) intact.
class ShorteningRenameTest : public VaultTest, public ::testing::WithParamInterface<NodeKind> {};

TEST_P(ShorteningRenameTest, BetweenShortenedAndNot) {
  const Entry other = MakeDir(root(), "other");
  // 146 bytes: kept; 147 and 200 bytes: shortened; then a CJK name of 200
  // bytes (but 68 characters) and back to short.
  std::string cjk;
  while (cjk.size() < 198) cjk += "\xE6\x97\xA5";  // 日
  cjk += "ab";
  ASSERT_EQ(cjk.size(), 200u);
  struct Hop {
    std::string name;
    bool into_other;
  };
  const std::vector<Hop> hops = {{std::string(146, 'a'), false},
                                 {std::string(147, 'b'), false},
                                 {std::string(200, 'c'), true},
                                 {std::string(146, 'd'), true},
                                 {cjk, false},
                                 {std::string(147, 'e'), true},
                                 {"short", false}};
  DirRef where = root();
  std::string name = "start";
  Entry original;
  switch (GetParam()) {
    case NodeKind::kFile:
      original = MakeFile(where, name, "file content");
      break;
    case NodeKind::kDirectory:
      original = MakeDir(where, name);
      MakeFile(original.AsDir(), "child", "child content");
      MakeDir(original.AsDir(), std::string(150, 's'));
      break;
    case NodeKind::kSymlink:
      original = MakeLink(where, name, "link target");
      break;
  }
  for (const Hop& hop : hops) {
    SCOPED_TRACE(std::to_string(hop.name.size()) + " bytes");
    const DirRef to = hop.into_other ? other.AsDir() : root();
    ASSERT_TRUE(IsOk(v().Rename(where, name, to, hop.name)));
    EXPECT_TRUE(HasCode(v().Lookup(where, name), Errc::kNotFound));
    where = to;
    name = hop.name;
    const Entry e = Lookup(where, name);
    EXPECT_EQ(e.kind(), GetParam());
    EXPECT_EQ(e.shortened, Shortened(where, name));
    EXPECT_EQ(e.attr.fileid, original.attr.fileid);
    switch (GetParam()) {
      case NodeKind::kFile:
        EXPECT_EQ(Read(e), "file content");
        break;
      case NodeKind::kDirectory: {
        EXPECT_EQ(e.dir_id, original.dir_id);
        EXPECT_EQ(Read(Lookup(e.AsDir(), "child")), "child content");
        EXPECT_EQ(Names(e.AsDir()), (std::vector<std::string>{"child", std::string(150, 's')}));
        auto parent = v().Parent(e.AsDir());
        ASSERT_TRUE(IsOk(parent));
        EXPECT_EQ(parent->id, where.id);
        break;
      }
      case NodeKind::kSymlink:
        EXPECT_EQ(ReadLink(e), "link target");
        break;
    }
    // Exactly one node moved: no copy left behind, nothing lost.
    EXPECT_EQ(Names(root()).size(), where.id.empty() ? 2u : 1u);
    EXPECT_EQ(Names(other.AsDir()).size(), where.id.empty() ? 0u : 1u);
    ExpectWellFormed();
  }
}

INSTANTIATE_TEST_SUITE_P(Kinds, ShorteningRenameTest,
                         ::testing::Values(NodeKind::kFile, NodeKind::kDirectory,
                                           NodeKind::kSymlink),
                         [](const auto& info) {
                           switch (info.param) {
                             case NodeKind::kFile:
                               return "File";
                             case NodeKind::kDirectory:
                               return "Directory";
                             case NodeKind::kSymlink:
                               return "Symlink";
                           }
                           return "Unknown";
                         });

// ---------------------------------------------------------------------------
// Unicode normalisation (spec §5.3)

TEST_F(VaultTest, NewNodesAreStoredInNfc) {
  const Entry f = MakeFile(root(), kNfdName, "x");
  EXPECT_EQ(f.name, kNfcName);
  EXPECT_TRUE(fs::exists(NodePath(root(), kNfcName)));
  EXPECT_FALSE(fs::exists(NodePath(root(), kNfdName)));
  EXPECT_EQ(Names(root()), std::vector<std::string>{kNfcName});
  // Lookup of either form finds the one node.
  EXPECT_EQ(Lookup(root(), kNfdName).attr.fileid, f.attr.fileid);
  EXPECT_EQ(Lookup(root(), kNfcName).attr.fileid, f.attr.fileid);
  EXPECT_TRUE(HasCode(v().CreateFile(root(), kNfcName, 0644), Errc::kExists));

  const Entry d = MakeDir(root(), "d" + kNfdName);
  EXPECT_EQ(d.name, "d" + kNfcName);
  EXPECT_TRUE(fs::exists(NodePath(root(), "d" + kNfcName)));
  const Entry l = MakeLink(root(), "l" + kNfdName, kNfdName);
  EXPECT_EQ(l.name, "l" + kNfcName);
  EXPECT_EQ(ReadLink(l), kNfdName);  // targets are not normalised

  // Rename to an NFD name stores NFC; rename from the NFD spelling works.
  ASSERT_TRUE(IsOk(v().Rename(root(), kNfdName, root(), "r" + kNfdName)));
  EXPECT_TRUE(fs::exists(NodePath(root(), "r" + kNfcName)));
  EXPECT_EQ(Read(Lookup(root(), "r" + kNfcName)), "x");
  ASSERT_TRUE(IsOk(v().Remove(root(), "r" + kNfdName)));
  ASSERT_TRUE(IsOk(v().RemoveDirectory(root(), "d" + kNfdName)));
  EXPECT_EQ(Names(root()), std::vector<std::string>{"l" + kNfcName});
  ExpectWellFormed();
}

TEST_F(VaultTest, ForeignNfdNamesAreListedAsDecrypted) {
  // Another tool stored an NFD name (pycryptomator does).
  auto ciphertext = v().names().EncryptName(kNfdName, "");
  ASSERT_TRUE(IsOk(ciphertext));
  {
    auto file = EncryptedFile::Create(v().cryptor(), root().content_path + "/" + *ciphertext, 0644);
    ASSERT_TRUE(IsOk(file));
    ASSERT_TRUE(IsOk((*file)->Write(0, AsBytes("nfd"))));
  }
  EXPECT_EQ(Names(root()), std::vector<std::string>{kNfdName});
  const Entry nfd = Lookup(root(), kNfdName);
  EXPECT_EQ(nfd.name, kNfdName);
  EXPECT_EQ(Read(nfd), "nfd");
  // Its NFC spelling finds nothing, exactly like Cryptomator, so an NFC twin
  // can be created; both are listed and each spelling finds its own node.
  EXPECT_TRUE(HasCode(v().Lookup(root(), kNfcName), Errc::kNotFound));
  EXPECT_TRUE(HasCode(v().CreateFile(root(), kNfdName, 0644), Errc::kExists));
  MakeFile(root(), kNfcName, "nfc");
  EXPECT_EQ(Names(root()), (std::vector<std::string>{kNfdName, kNfcName}));
  EXPECT_EQ(Read(Lookup(root(), kNfdName)), "nfd");
  EXPECT_EQ(Read(Lookup(root(), kNfcName)), "nfc");
  ExpectWellFormed();
}

TEST_F(VaultTest, RenameTargetsFollowLookupPolicy) {
  // NFC/NFD twins from another tool: each spelling names its own node, for
  // the target of a rename just as for a lookup. Otherwise renaming onto
  // one twin would silently replace the other.
  auto ciphertext = v().names().EncryptName(kNfdName, "");
  ASSERT_TRUE(IsOk(ciphertext));
  auto make_nfd = [&] {
    auto file = EncryptedFile::Create(v().cryptor(), root().content_path + "/" + *ciphertext, 0644);
    ASSERT_TRUE(IsOk(file));
    ASSERT_TRUE(IsOk((*file)->Write(0, AsBytes("nfd"))));
  };
  make_nfd();
  MakeFile(root(), kNfcName, "nfc");
  // Onto itself: nothing happens (POSIX), the NFC twin survives.
  ASSERT_TRUE(IsOk(v().Rename(root(), kNfdName, root(), kNfdName)));
  EXPECT_EQ(Names(root()), (std::vector<std::string>{kNfdName, kNfcName}));
  EXPECT_EQ(Read(Lookup(root(), kNfdName)), "nfd");
  EXPECT_EQ(Read(Lookup(root(), kNfcName)), "nfc");
  // Onto the NFD twin: the NFD twin is replaced, the NFC one moved.
  MakeFile(root(), "other", "other");
  ASSERT_TRUE(IsOk(v().Rename(root(), "other", root(), kNfdName)));
  EXPECT_EQ(Names(root()), (std::vector<std::string>{kNfdName, kNfcName}));
  EXPECT_EQ(Read(Lookup(root(), kNfdName)), "other");
  EXPECT_EQ(Read(Lookup(root(), kNfcName)), "nfc");
  // From one twin onto the other.
  ASSERT_TRUE(IsOk(v().Rename(root(), kNfcName, root(), kNfdName)));
  EXPECT_EQ(Names(root()), std::vector<std::string>{kNfdName});
  EXPECT_EQ(Read(Lookup(root(), kNfdName)), "nfc");
  // Without an exact match the NFC form is the target, as for new nodes.
  ASSERT_TRUE(IsOk(v().Rename(root(), kNfdName, root(), "x" + kNfdName)));
  EXPECT_EQ(Names(root()), std::vector<std::string>{"x" + kNfcName});
  ExpectWellFormed();
}

// ---------------------------------------------------------------------------
// Parents and identities

}  // namespace
}  // namespace vaultcore::vault_testing
