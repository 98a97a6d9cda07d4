// Every NFSv3 error status the server gives, provoked through libnfs-raw
// and checked exactly, with what must not happen alongside: a refused
// change leaves the vault as it was, a corrupt chunk never reads as data,
// a listing that changed under a client is BAD_COOKIE rather than a silent
// restart. The successful paths are in nfs_procedures_test.cc.
#include <gtest/gtest.h>
#include <sys/statvfs.h>

#include <cstdint>
#include <fstream>
#include <set>
#include <string>

#include "tests/nfs_raw.h"

namespace vaultnfs::testing {
namespace {

using ErrorsTest = RawNfsTest;

constexpr uint64_t kMaxFileSize = uint64_t{1} << 44;  // FSINFO maxfilesize

// wcc_data of a failed change: both halves present.
::testing::AssertionResult HasWcc(const wcc_data& wcc) {
  if (wcc.before.attributes_follow == 0) return ::testing::AssertionFailure() << "no pre_op_attr";
  if (wcc.after.attributes_follow == 0) return ::testing::AssertionFailure() << "no post_op_attr";
  return ::testing::AssertionSuccess();
}

TEST_F(ErrorsTest, NoentForMissingNames) {
  const Fh dir = MakeDir(root_, "d");
  EXPECT_EQ(nfs().Lookup(dir, "missing").status, NFS3ERR_NOENT);
  EXPECT_EQ(nfs().Lookup(root_, "").status, NFS3ERR_NOENT);
  REMOVE3res remove = nfs().Remove(dir, "missing");
  EXPECT_EQ(remove.status, NFS3ERR_NOENT);
  EXPECT_TRUE(HasWcc(remove.REMOVE3res_u.resfail.dir_wcc));
  EXPECT_EQ(nfs().Rmdir(dir, "missing").status, NFS3ERR_NOENT);
  RENAME3res rename = nfs().Rename(dir, "missing", root_, "x");
  EXPECT_EQ(rename.status, NFS3ERR_NOENT);
  EXPECT_TRUE(HasWcc(rename.RENAME3res_u.resfail.fromdir_wcc));
  EXPECT_TRUE(HasWcc(rename.RENAME3res_u.resfail.todir_wcc));
  EXPECT_EQ(nfs().Lookup(root_, "x").status, NFS3ERR_NOENT);
  // Case matters: "D" is not "d".
  EXPECT_EQ(nfs().Lookup(root_, "D").status, NFS3ERR_NOENT);
}

TEST_F(ErrorsTest, ExistForEveryKindOfCreation) {
  MakeFile(root_, "f", "content");
  MakeDir(root_, "d");
  ASSERT_EQ(nfs().Symlink(root_, "l", "f").status, NFS3_OK);
  for (const char* name : {"f", "d", "l"}) {
    SCOPED_TRACE(name);
    NewObject made = nfs().Mkdir(root_, name);
    EXPECT_EQ(made.status, NFS3ERR_EXIST);
    EXPECT_TRUE(HasWcc(made.dir_wcc));
    EXPECT_EQ(nfs().Symlink(root_, name, "t").status, NFS3ERR_EXIST);
    EXPECT_EQ(nfs().Create(root_, name, GUARDED).status, NFS3ERR_EXIST);
    EXPECT_EQ(nfs().CreateExclusive(root_, name, Verifier{1, 2, 3, 4, 5, 6, 7, 8}).status,
              NFS3ERR_EXIST);
  }
  // A symlink is not a file UNCHECKED may keep.
  EXPECT_EQ(nfs().Create(root_, "l", UNCHECKED).status, NFS3ERR_EXIST);
  EXPECT_EQ(Content(Handle(root_, "f")), "content");
  EXPECT_EQ(nfs().Readlink(Handle(root_, "l")).target, "f");
}

TEST_F(ErrorsTest, NotdirWhereADirectoryIsNeeded) {
  const Fh file = MakeFile(root_, "f", "x");
  const Fh dir = MakeDir(root_, "d");
  EXPECT_EQ(nfs().Lookup(file, "x").status, NFS3ERR_NOTDIR);
  EXPECT_EQ(nfs().Create(file, "x", GUARDED).status, NFS3ERR_NOTDIR);
  EXPECT_EQ(nfs().Mkdir(file, "x").status, NFS3ERR_NOTDIR);
  EXPECT_EQ(nfs().Symlink(file, "x", "t").status, NFS3ERR_NOTDIR);
  EXPECT_EQ(nfs().Mknod(file, "x", NF3FIFO).status, NFS3ERR_NOTDIR);
  EXPECT_EQ(nfs().Remove(file, "x").status, NFS3ERR_NOTDIR);
  EXPECT_EQ(nfs().Rmdir(file, "x").status, NFS3ERR_NOTDIR);
  EXPECT_EQ(nfs().Rename(file, "x", dir, "y").status, NFS3ERR_NOTDIR);
  EXPECT_EQ(nfs().Rename(root_, "f", file, "y").status, NFS3ERR_NOTDIR);
  EXPECT_EQ(nfs().Link(file, file, "y").status, NFS3ERR_NOTDIR);
  DirPage page = nfs().Readdir(file, 0, 0, 4096);
  EXPECT_EQ(page.status, NFS3ERR_NOTDIR);
  EXPECT_TRUE(page.dir_attr);
  EXPECT_EQ(nfs().Readdirplus(file, 0, 0, 4096, 8192).status, NFS3ERR_NOTDIR);
  // Through a path, for MOUNT.
  EXPECT_EQ(nfs().Mnt("/f/x").status, MNT3ERR_NOTDIR);
  EXPECT_EQ(Content(file), "x");
}

TEST_F(ErrorsTest, IsdirWhereAFileIsNeeded) {
  const Fh dir = MakeDir(root_, "d");
  ReadResult read = nfs().Read(dir, 0, 100);
  EXPECT_EQ(read.status, NFS3ERR_ISDIR);
  EXPECT_TRUE(read.attr);
  WRITE3res write = nfs().Write(dir, 0, "x", FILE_SYNC);
  EXPECT_EQ(write.status, NFS3ERR_ISDIR);
  EXPECT_EQ(nfs().Commit(dir).status, NFS3ERR_ISDIR);
  EXPECT_EQ(nfs().Setattr(dir, Sattr().Size(0)).status, NFS3ERR_ISDIR);
  EXPECT_EQ(nfs().Remove(root_, "d").status, NFS3ERR_ISDIR);
  EXPECT_EQ(Attr(dir).type, NF3DIR);
}

TEST_F(ErrorsTest, NotemptyForADirectoryWithAnything) {
  const Fh dir = MakeDir(root_, "d");
  const Fh inner = MakeDir(dir, "inner");
  RMDIR3res res = nfs().Rmdir(root_, "d");
  EXPECT_EQ(res.status, NFS3ERR_NOTEMPTY);
  EXPECT_TRUE(HasWcc(res.RMDIR3res_u.resfail.dir_wcc));
  ASSERT_EQ(nfs().Symlink(inner, "l", "t").status, NFS3_OK);
  EXPECT_EQ(nfs().Rmdir(dir, "inner").status, NFS3ERR_NOTEMPTY);
  EXPECT_EQ(Attr(Handle(inner, "l")).type, NF3LNK);
}

TEST_F(ErrorsTest, NametoolongPastTwoHundredFiftyFiveBytes) {
  const Fh dir = MakeDir(root_, "d");
  const std::string max(255, 'm');
  const std::string over(256, 'o');
  // UTF-8: 127 two-byte characters and one byte.
  std::string accented;
  for (int i = 0; i < 127; ++i) accented += "\xc3\xa9";
  accented += "a";
  ASSERT_EQ(accented.size(), 255u);

  EXPECT_EQ(nfs().Lookup(dir, over).status, NFS3ERR_NAMETOOLONG);
  EXPECT_EQ(nfs().Create(dir, over, UNCHECKED).status, NFS3ERR_NAMETOOLONG);
  EXPECT_EQ(nfs().Create(dir, over, GUARDED).status, NFS3ERR_NAMETOOLONG);
  EXPECT_EQ(nfs().CreateExclusive(dir, over, Verifier{}).status, NFS3ERR_NAMETOOLONG);
  EXPECT_EQ(nfs().Mkdir(dir, over).status, NFS3ERR_NAMETOOLONG);
  EXPECT_EQ(nfs().Symlink(dir, over, "t").status, NFS3ERR_NAMETOOLONG);
  EXPECT_EQ(nfs().Remove(dir, over).status, NFS3ERR_NAMETOOLONG);
  EXPECT_EQ(nfs().Rmdir(dir, over).status, NFS3ERR_NAMETOOLONG);
  EXPECT_EQ(nfs().Rename(dir, over, dir, "x").status, NFS3ERR_NAMETOOLONG);

  // 255 bytes work for everything, and list.
  const Fh file = MakeFile(dir, max, "max");
  EXPECT_EQ(Handle(dir, max), file);
  EXPECT_EQ(nfs().Mkdir(dir, accented).status, NFS3_OK);
  const std::string link_name = std::string(254, 'l') + "k";
  EXPECT_EQ(nfs().Symlink(dir, link_name, std::string(255, 't')).status, NFS3_OK);
  EXPECT_EQ(nfs().Rename(dir, max, dir, over).status, NFS3ERR_NAMETOOLONG);
  const std::string renamed(255, 'r');
  ASSERT_EQ(nfs().Rename(dir, max, dir, renamed).status, NFS3_OK);
  EXPECT_EQ(Content(Handle(dir, renamed)), "max");
  DirPage page = nfs().Readdirplus(dir, 0, 0, 65536, 65536);
  ASSERT_EQ(page.status, NFS3_OK);
  std::set<std::string> names;
  for (const DirEntry& e : page.entries) names.insert(e.name);
  EXPECT_EQ(names, (std::set<std::string>{".", "..", renamed, accented, link_name}));
  EXPECT_EQ(nfs().Remove(dir, renamed).status, NFS3_OK);
  EXPECT_EQ(nfs().Rmdir(dir, accented).status, NFS3_OK);
}

TEST_F(ErrorsTest, AccesForASlashInAName) {
  const Fh a = MakeDir(root_, "a");
  MakeFile(a, "b", "inside");
  // Were "a/b" taken as a path, these would reach a's "b".
  EXPECT_EQ(nfs().Lookup(root_, "a/b").status, NFS3ERR_ACCES);
  EXPECT_EQ(nfs().Remove(root_, "a/b").status, NFS3ERR_ACCES);
  EXPECT_EQ(nfs().Create(root_, "a/b", UNCHECKED, Sattr().Size(0)).status, NFS3ERR_ACCES);
  EXPECT_EQ(nfs().Create(root_, "a/c", GUARDED).status, NFS3ERR_ACCES);
  EXPECT_EQ(nfs().Mkdir(root_, "a/c").status, NFS3ERR_ACCES);
  EXPECT_EQ(nfs().Symlink(root_, "a/c", "t").status, NFS3ERR_ACCES);
  EXPECT_EQ(nfs().Rmdir(root_, "a/").status, NFS3ERR_ACCES);
  EXPECT_EQ(nfs().Rename(root_, "a/b", root_, "c").status, NFS3ERR_ACCES);
  EXPECT_EQ(nfs().Rename(a, "b", root_, "a/c").status, NFS3ERR_ACCES);
  EXPECT_EQ(nfs().Lookup(root_, "/").status, NFS3ERR_ACCES);
  EXPECT_EQ(Content(Handle(a, "b")), "inside");
  DirPage page = nfs().Readdir(a, 0, 0, 4096);
  EXPECT_EQ(page.entries.size(), 3u);
}

TEST_F(ErrorsTest, InvalForMeaninglessRequests) {
  const Fh file = MakeFile(root_, "f", "x");
  const NewObject link = nfs().Symlink(root_, "l", "f");
  ASSERT_EQ(link.status, NFS3_OK);
  EXPECT_EQ(nfs().Readlink(file).status, NFS3ERR_INVAL);
  EXPECT_EQ(nfs().Read(*link.fh, 0, 10).status, NFS3ERR_INVAL);
  EXPECT_EQ(nfs().Write(*link.fh, 0, "x", FILE_SYNC).status, NFS3ERR_INVAL);
  EXPECT_EQ(nfs().Commit(*link.fh).status, NFS3ERR_INVAL);
  EXPECT_EQ(nfs().Setattr(*link.fh, Sattr().Size(0)).status, NFS3ERR_INVAL);
  EXPECT_EQ(nfs().Symlink(root_, "empty-target", "").status, NFS3ERR_INVAL);
  EXPECT_EQ(nfs().Create(root_, "", GUARDED).status, NFS3ERR_INVAL);
  EXPECT_EQ(nfs().Mkdir(root_, "").status, NFS3ERR_INVAL);
  // A directory into itself or below.
  const Fh d = MakeDir(root_, "d");
  const Fh sub = MakeDir(d, "sub");
  EXPECT_EQ(nfs().Rename(root_, "d", sub, "d").status, NFS3ERR_INVAL);
  EXPECT_EQ(nfs().Rename(root_, "d", d, "d").status, NFS3ERR_INVAL);
  // More than wtmax in one WRITE.
  WRITE3res big = nfs().Write(file, 0, std::string((1 << 20) + 1, 'b'), UNSTABLE);
  EXPECT_EQ(big.status, NFS3ERR_INVAL);
  EXPECT_EQ(Content(file), "x");
}

TEST_F(ErrorsTest, NotsuppForHardLinksAndSpecialFiles) {
  const Fh file = MakeFile(root_, "f", "x");
  const Fh dir = MakeDir(root_, "d");
  LINK3res link = nfs().Link(file, dir, "hard");
  EXPECT_EQ(link.status, NFS3ERR_NOTSUPP);
  EXPECT_TRUE(link.LINK3res_u.resfail.file_attributes.attributes_follow);
  EXPECT_TRUE(HasWcc(link.LINK3res_u.resfail.linkdir_wcc));
  EXPECT_EQ(nfs().Link(dir, root_, "hard-dir").status, NFS3ERR_NOTSUPP);
  for (const ftype3 type : {NF3CHR, NF3BLK, NF3SOCK, NF3FIFO}) {
    SCOPED_TRACE(type);
    NewObject made = nfs().Mknod(dir, "node", type);
    EXPECT_EQ(made.status, NFS3ERR_NOTSUPP);
    EXPECT_TRUE(HasWcc(made.dir_wcc));
  }
  EXPECT_EQ(nfs().Lookup(dir, "hard").status, NFS3ERR_NOENT);
  EXPECT_EQ(nfs().Lookup(dir, "node").status, NFS3ERR_NOENT);
}

TEST_F(ErrorsTest, RofsForEveryChangeToAReadOnlyExport) {
  const Fh file = MakeFile(root_, "f", "content");
  const Fh dir = MakeDir(root_, "d");
  MakeDir(root_, "empty");
  ASSERT_EQ(nfs().Symlink(root_, "l", "f").status, NFS3_OK);
  TestServerOptions options = Options();
  options.read_only = true;
  StartServer(options);

  SETATTR3res setattr = nfs().Setattr(file, Sattr().Size(0));
  EXPECT_EQ(setattr.status, NFS3ERR_ROFS);
  EXPECT_TRUE(HasWcc(setattr.SETATTR3res_u.resfail.obj_wcc));
  WRITE3res write = nfs().Write(file, 0, "x", UNSTABLE);
  EXPECT_EQ(write.status, NFS3ERR_ROFS);
  EXPECT_TRUE(HasWcc(write.WRITE3res_u.resfail.file_wcc));
  NewObject create = nfs().Create(root_, "new", GUARDED);
  EXPECT_EQ(create.status, NFS3ERR_ROFS);
  EXPECT_TRUE(HasWcc(create.dir_wcc));
  EXPECT_EQ(nfs().Setattr(file, Sattr().Mode(0600)).status, NFS3ERR_ROFS);
  EXPECT_EQ(nfs().Setattr(dir, Sattr().MtimeNow()).status, NFS3ERR_ROFS);
  EXPECT_EQ(nfs().Write(file, 0, "x", UNSTABLE).status, NFS3ERR_ROFS);
  EXPECT_EQ(nfs().Write(file, 0, "x", FILE_SYNC).status, NFS3ERR_ROFS);
  EXPECT_EQ(nfs().Create(root_, "new", UNCHECKED).status, NFS3ERR_ROFS);
  EXPECT_EQ(nfs().Create(root_, "f", UNCHECKED, Sattr().Size(0)).status, NFS3ERR_ROFS);
  EXPECT_EQ(nfs().Create(root_, "new", GUARDED).status, NFS3ERR_ROFS);
  EXPECT_EQ(nfs().CreateExclusive(root_, "new", Verifier{}).status, NFS3ERR_ROFS);
  EXPECT_EQ(nfs().Mkdir(root_, "new").status, NFS3ERR_ROFS);
  EXPECT_EQ(nfs().Symlink(root_, "new", "t").status, NFS3ERR_ROFS);
  EXPECT_EQ(nfs().Remove(root_, "f").status, NFS3ERR_ROFS);
  EXPECT_EQ(nfs().Remove(root_, "l").status, NFS3ERR_ROFS);
  EXPECT_EQ(nfs().Rmdir(root_, "empty").status, NFS3ERR_ROFS);
  RENAME3res rename = nfs().Rename(root_, "f", dir, "g");
  EXPECT_EQ(rename.status, NFS3ERR_ROFS);
  EXPECT_TRUE(HasWcc(rename.RENAME3res_u.resfail.fromdir_wcc));
  // Unsupported anyway, but a read-only export says so first.
  EXPECT_EQ(nfs().Mknod(root_, "n", NF3FIFO).status, NFS3ERR_ROFS);
  EXPECT_EQ(nfs().Link(file, root_, "n").status, NFS3ERR_ROFS);

  // ACCESS tells the client before it tries.
  ACCESS3res access = nfs().Access(file, ACCESS3_READ | ACCESS3_MODIFY | ACCESS3_EXTEND);
  ASSERT_EQ(access.status, NFS3_OK);
  EXPECT_EQ(access.ACCESS3res_u.resok.access, uint32_t{ACCESS3_READ});
  access = nfs().Access(
      dir, ACCESS3_READ | ACCESS3_LOOKUP | ACCESS3_MODIFY | ACCESS3_EXTEND | ACCESS3_DELETE);
  ASSERT_EQ(access.status, NFS3_OK);
  EXPECT_EQ(access.ACCESS3res_u.resok.access, uint32_t{ACCESS3_READ | ACCESS3_LOOKUP});

  // Reading works, and nothing changed.
  EXPECT_EQ(Content(file), "content");
  EXPECT_EQ(Attr(file).mode, 0644u);
  EXPECT_EQ(nfs().Lookup(root_, "new").status, NFS3ERR_NOENT);
  EXPECT_EQ(nfs().Lookup(root_, "empty").status, NFS3_OK);
  DirPage page = nfs().Readdirplus(root_, 0, 0, 4096, 65536);
  ASSERT_EQ(page.status, NFS3_OK);
  EXPECT_EQ(page.entries.size(), 6u);
}

TEST_F(ErrorsTest, FbigNospcAndWrappingOffsets) {
  const Fh file = MakeFile(root_, "f", "small");
  struct statvfs fs {};
  ASSERT_EQ(statvfs(vault_path_.c_str(), &fs), 0);
  const uint64_t available = static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;

  auto unchanged = [&] {
    EXPECT_EQ(Attr(file).size, 5u);
    EXPECT_EQ(Content(file), "small");
  };
  // Past FSINFO's maxfilesize: FBIG, whatever the disk holds.
  SETATTR3res setattr = nfs().Setattr(file, Sattr().Size(kMaxFileSize + 1));
  EXPECT_EQ(setattr.status, NFS3ERR_FBIG);
  EXPECT_TRUE(HasWcc(setattr.SETATTR3res_u.resfail.obj_wcc));
  EXPECT_EQ(nfs().Setattr(file, Sattr().Size(UINT64_MAX)).status, NFS3ERR_FBIG);
  EXPECT_EQ(nfs().Setattr(file, Sattr().Size(uint64_t{1} << 62)).status, NFS3ERR_FBIG);
  WRITE3res write = nfs().Write(file, kMaxFileSize, "x", FILE_SYNC);
  EXPECT_EQ(write.status, NFS3ERR_FBIG);
  EXPECT_TRUE(HasWcc(write.WRITE3res_u.resfail.file_wcc));
  EXPECT_EQ(nfs().Write(file, kMaxFileSize - 1, "xy", UNSTABLE).status, NFS3ERR_FBIG);
  EXPECT_EQ(nfs().Write(file, uint64_t{1} << 63, "x", UNSTABLE).status, NFS3ERR_FBIG);
  unchanged();

  // offset + count wraps around: INVAL, not a write at the start.
  EXPECT_EQ(nfs().Write(file, UINT64_MAX - 1, "wrap", UNSTABLE).status, NFS3ERR_INVAL);
  EXPECT_EQ(nfs().Write(file, UINT64_MAX, "w", FILE_SYNC).status, NFS3ERR_INVAL);
  unchanged();

  // Within maxfilesize but beyond the disk: NOSPC before writing anything
  // (an encrypted file has no holes).
  ASSERT_LT(available, kMaxFileSize) << "a disk of 16 TiB free cannot refuse 16 TiB";
  setattr = nfs().Setattr(file, Sattr().Size(kMaxFileSize));
  EXPECT_EQ(setattr.status, NFS3ERR_NOSPC);
  EXPECT_TRUE(HasWcc(setattr.SETATTR3res_u.resfail.obj_wcc));
  EXPECT_EQ(nfs().Write(file, kMaxFileSize - 1, "x", UNSTABLE).status, NFS3ERR_NOSPC);
  const uint64_t tebibyte = uint64_t{1} << 40;
  if (available < tebibyte) {
    EXPECT_EQ(nfs().Setattr(file, Sattr().Size(tebibyte)).status, NFS3ERR_NOSPC);
    EXPECT_EQ(nfs().Write(file, tebibyte, "x", FILE_SYNC).status, NFS3ERR_NOSPC);
  }  // else a disk with more than 1 TiB free would really write it
  unchanged();
  // Nothing was written: the free space is as it was (give or take what
  // others write meanwhile).
  ASSERT_EQ(statvfs(vault_path_.c_str(), &fs), 0);
  EXPECT_GT(static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize + (uint64_t{8} << 30), available);
}

// The ciphertext of "/name" in the vault.
std::string CiphertextPath(TestServer& server, const std::string& name) {
  auto entry = server.vault().ResolvePath(name);
  EXPECT_TRUE(IsOk(entry));
  return entry.ok() ? entry->data_path() : std::string();
}

void FlipByte(const std::string& path, uint64_t offset) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  ASSERT_TRUE(f.is_open()) << path;
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  ASSERT_TRUE(f.get(c));
  f.seekp(static_cast<std::streamoff>(offset));
  f.put(static_cast<char>(c ^ 0x20));
  ASSERT_TRUE(f.good());
}

TEST_F(ErrorsTest, IoForATamperedChunkNeverData) {
  constexpr uint64_t kHeader = 68;         // nonce, encrypted payload, tag
  constexpr uint64_t kChunk = 32768 + 28;  // nonce, 32 KiB, tag
  std::string content(100000, '\0');
  for (size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>('a' + i % 26);
  const Fh file = MakeFile(root_, "f", content);
  const Fh header_file = MakeFile(root_, "h", content);
  ASSERT_EQ(nfs().Commit(file).status, NFS3_OK);
  const std::string file_path = CiphertextPath(*server_, "/f");
  const std::string header_path = CiphertextPath(*server_, "/h");
  // A fresh process: nothing of the file is cached.
  raw_.reset();
  client_.reset();
  server_->Stop();
  FlipByte(file_path, kHeader + kChunk + 1000);  // chunk 1
  FlipByte(header_path, 20);                     // header payload
  server_ = std::make_unique<TestServer>(vault_path_, kPassword, Options());
  Connect();

  ReadResult read = nfs().Read(file, 0, 32768);  // chunk 0 is intact
  ASSERT_EQ(read.status, NFS3_OK);
  EXPECT_TRUE(read.data == content.substr(0, 32768));
  for (const auto& [offset, count] : {std::pair<uint64_t, uint32_t>{32768, 100},
                                      {40000, 10},
                                      {0, 65536},
                                      {32000, 1000},
                                      {0, 1 << 20}}) {
    SCOPED_TRACE("offset " + std::to_string(offset) + " count " + std::to_string(count));
    read = nfs().Read(file, offset, count);
    EXPECT_EQ(read.status, NFS3ERR_IO);
    EXPECT_TRUE(read.data.empty());
  }
  EXPECT_TRUE(nfs().Read(file, 65536, 1000).status == NFS3_OK);  // chunk 2 is intact
  // Writing into the corrupt chunk must not re-encrypt garbage as good.
  EXPECT_EQ(nfs().Write(file, 32768 + 10, "new", FILE_SYNC).status, NFS3ERR_IO);
  EXPECT_EQ(nfs().Read(file, 32768, 100).status, NFS3ERR_IO);

  // A header that does not authenticate: no chunk reads.
  read = nfs().Read(header_file, 0, 100);
  EXPECT_EQ(read.status, NFS3ERR_IO);
  EXPECT_TRUE(read.data.empty());
  // Its attributes are still there.
  EXPECT_EQ(Attr(header_file).type, NF3REG);
}

TEST_F(ErrorsTest, StaleForRemovedObjects) {
  const Fh dir = MakeDir(root_, "d");
  const Fh file = MakeFile(dir, "f", "x");
  const NewObject link = nfs().Symlink(dir, "l", "f");
  ASSERT_EQ(link.status, NFS3_OK);
  const Fh outside = MakeFile(root_, "outside", "y");
  ASSERT_EQ(nfs().Remove(dir, "f").status, NFS3_OK);
  ASSERT_EQ(nfs().Remove(dir, "l").status, NFS3_OK);
  ASSERT_EQ(nfs().Rmdir(root_, "d").status, NFS3_OK);

  for (const Fh& gone : {file, *link.fh, dir}) {
    EXPECT_EQ(nfs().Getattr(gone).status, NFS3ERR_STALE);
    EXPECT_EQ(nfs().Setattr(gone, Sattr().Mode(0600)).status, NFS3ERR_STALE);
    EXPECT_EQ(nfs().Access(gone, ACCESS3_READ).status, NFS3ERR_STALE);
    EXPECT_EQ(nfs().Fsstat(gone).status, NFS3ERR_STALE);
    EXPECT_EQ(nfs().Fsinfo(gone).status, NFS3ERR_STALE);
    EXPECT_EQ(nfs().Pathconf(gone).status, NFS3ERR_STALE);
  }
  EXPECT_EQ(nfs().Read(file, 0, 10).status, NFS3ERR_STALE);
  EXPECT_EQ(nfs().Write(file, 0, "x", FILE_SYNC).status, NFS3ERR_STALE);
  EXPECT_EQ(nfs().Commit(file).status, NFS3ERR_STALE);
  EXPECT_EQ(nfs().Readlink(*link.fh).status, NFS3ERR_STALE);
  EXPECT_EQ(nfs().Lookup(dir, "f").status, NFS3ERR_STALE);
  EXPECT_EQ(nfs().Create(dir, "new", GUARDED).status, NFS3ERR_STALE);
  EXPECT_EQ(nfs().Mkdir(dir, "new").status, NFS3ERR_STALE);
  EXPECT_EQ(nfs().Readdir(dir, 0, 0, 4096).status, NFS3ERR_STALE);
  EXPECT_EQ(nfs().Readdirplus(dir, 0, 0, 4096, 8192).status, NFS3ERR_STALE);
  EXPECT_EQ(nfs().Rename(root_, "outside", dir, "x").status, NFS3ERR_STALE);
  EXPECT_EQ(nfs().Link(outside, dir, "x").status, NFS3ERR_STALE);

  // Removed behind the server's back (a sync client), and after a restart.
  auto entry = server_->vault().ResolvePath("/outside");
  ASSERT_TRUE(IsOk(entry));
  ASSERT_TRUE(IsOk(server_->vault().Remove(server_->vault().Root(), "outside")));
  EXPECT_EQ(nfs().Getattr(outside).status, NFS3ERR_STALE);
  raw_.reset();
  client_.reset();
  server_->Restart();
  Connect();
  EXPECT_EQ(nfs().Getattr(file).status, NFS3ERR_STALE);
  EXPECT_EQ(nfs().Getattr(dir).status, NFS3ERR_STALE);
  EXPECT_EQ(nfs().Getattr(outside).status, NFS3ERR_STALE);
}

TEST_F(ErrorsTest, BadhandleForAnyAlteredOrMisSizedHandle) {
  const Fh dir = MakeDir(root_, "d");
  const Fh file = MakeFile(dir, "f", "x");
  ASSERT_FALSE(file.empty());
  for (size_t i = 0; i < file.size(); ++i) {
    for (const uint8_t mask : {uint8_t{0x01}, uint8_t{0x80}}) {
      Fh bad = file;
      bad[i] = static_cast<char>(bad[i] ^ mask);
      EXPECT_EQ(nfs().Getattr(bad).status, NFS3ERR_BADHANDLE) << "byte " << i;
    }
  }
  Fh bad_dir = dir;
  bad_dir[bad_dir.size() / 2] ^= 1;
  EXPECT_EQ(nfs().Lookup(bad_dir, "f").status, NFS3ERR_BADHANDLE);
  EXPECT_EQ(nfs().Readdir(bad_dir, 0, 0, 4096).status, NFS3ERR_BADHANDLE);
  EXPECT_EQ(nfs().Create(bad_dir, "g", GUARDED).status, NFS3ERR_BADHANDLE);
  EXPECT_EQ(nfs().Remove(bad_dir, "f").status, NFS3ERR_BADHANDLE);
  Fh bad_file = file;
  bad_file[0] ^= 1;
  EXPECT_EQ(nfs().Read(bad_file, 0, 10).status, NFS3ERR_BADHANDLE);
  EXPECT_EQ(nfs().Write(bad_file, 0, "y", FILE_SYNC).status, NFS3ERR_BADHANDLE);
  EXPECT_EQ(nfs().Access(bad_file, ACCESS3_READ).status, NFS3ERR_BADHANDLE);

  // Wrong lengths, up to NFS3_FHSIZE.
  for (const size_t size : {size_t{0}, size_t{1}, file.size() - 1, file.size() + 1, size_t{64}}) {
    Fh sized = file;
    sized.resize(size, '\0');
    EXPECT_EQ(nfs().Getattr(sized).status, NFS3ERR_BADHANDLE) << size << " bytes";
    EXPECT_EQ(nfs().Lookup(sized, "f").status, NFS3ERR_BADHANDLE) << size << " bytes";
  }
  EXPECT_EQ(Content(file), "x");
}

TEST_F(ErrorsTest, BadCookieAfterTheDirectoryChanged) {
  const Fh dir = MakeDir(root_, "d");
  for (int i = 0; i < 60; ++i) MakeFile(dir, "file-" + std::to_string(i));
  DirPage first = nfs().Readdir(dir, 0, 0, 512);
  ASSERT_EQ(first.status, NFS3_OK);
  ASSERT_FALSE(first.eof);
  ASSERT_FALSE(first.entries.empty());
  const uint64_t cookie = first.entries.back().cookie;
  const uint64_t verifier = first.verifier;
  DirPage plus_first = nfs().Readdirplus(dir, 0, 0, 512, 4096);
  ASSERT_EQ(plus_first.status, NFS3_OK);
  EXPECT_EQ(plus_first.verifier, verifier);
  // Unchanged: the cookie resumes.
  ASSERT_EQ(nfs().Readdir(dir, cookie, verifier, 512).status, NFS3_OK);

  // A name added.
  MakeFile(dir, "added");
  DirPage stale = nfs().Readdir(dir, cookie, verifier, 512);
  EXPECT_EQ(stale.status, NFS3ERR_BAD_COOKIE);
  EXPECT_TRUE(stale.dir_attr);
  EXPECT_EQ(nfs().Readdirplus(dir, plus_first.entries.back().cookie, verifier, 512, 4096).status,
            NFS3ERR_BAD_COOKIE);
  // Starting over always works; cookie 0 ignores the verifier.
  DirPage again = nfs().Readdir(dir, 0, verifier, 512);
  ASSERT_EQ(again.status, NFS3_OK);
  EXPECT_NE(again.verifier, verifier);

  // A name removed, and a change behind the server's back.
  const uint64_t verifier2 = again.verifier;
  const uint64_t cookie2 = again.entries.back().cookie;
  ASSERT_EQ(nfs().Remove(dir, "file-7").status, NFS3_OK);
  EXPECT_EQ(nfs().Readdir(dir, cookie2, verifier2, 512).status, NFS3ERR_BAD_COOKIE);
  DirPage third = nfs().Readdir(dir, 0, 0, 512);
  ASSERT_EQ(third.status, NFS3_OK);
  auto entry = server_->vault().ResolvePath("/d");
  ASSERT_TRUE(IsOk(entry));
  ASSERT_TRUE(IsOk(server_->vault().CreateFile(entry->AsDir(), "out-of-band", 0644)));
  EXPECT_EQ(nfs().Readdir(dir, third.entries.back().cookie, third.verifier, 512).status,
            NFS3ERR_BAD_COOKIE);

  // A cookie this listing never gave, and a verifier it never had.
  DirPage now = nfs().Readdir(dir, 0, 0, 512);
  ASSERT_EQ(now.status, NFS3_OK);
  EXPECT_EQ(nfs().Readdir(dir, 1000000, now.verifier, 512).status, NFS3ERR_BAD_COOKIE);
  EXPECT_EQ(nfs().Readdir(dir, now.entries.back().cookie, now.verifier ^ 0x5a5a, 512).status,
            NFS3ERR_BAD_COOKIE);
}

TEST_F(ErrorsTest, ToosmallWhenNotEvenOneEntryFits) {
  const Fh dir = MakeDir(root_, "d");
  const std::string long_name(250, 'z');
  MakeFile(dir, long_name);
  for (const uint32_t count : {0u, 1u, 8u, 100u, 120u}) {
    SCOPED_TRACE(count);
    DirPage page = nfs().Readdir(dir, 0, 0, count);
    EXPECT_EQ(page.status, NFS3ERR_TOOSMALL);
    EXPECT_TRUE(page.dir_attr);
    EXPECT_EQ(nfs().Readdirplus(dir, 0, 0, 4096, count).status, NFS3ERR_TOOSMALL);
  }
  // dircount is a hint: however small, maxcount alone bounds the page.
  DirPage whole = nfs().Readdirplus(dir, 0, 0, 8, 65536);
  ASSERT_EQ(whole.status, NFS3_OK);
  EXPECT_EQ(whole.entries.size(), 3u);
  EXPECT_TRUE(whole.eof);

  // "." and ".." fit, the long name alone does not: the first page stops
  // before it, and resuming there is TOOSMALL, never an empty page.
  DirPage page = nfs().Readdir(dir, 0, 0, 200);
  ASSERT_EQ(page.status, NFS3_OK);
  ASSERT_EQ(page.entries.size(), 2u);
  EXPECT_FALSE(page.eof);
  EXPECT_LE(page.encoded_size, 200u);
  DirPage next = nfs().Readdir(dir, page.entries.back().cookie, page.verifier, 200);
  EXPECT_EQ(next.status, NFS3ERR_TOOSMALL);
  next = nfs().Readdir(dir, page.entries.back().cookie, page.verifier, 1024);
  ASSERT_EQ(next.status, NFS3_OK);
  ASSERT_EQ(next.entries.size(), 1u);
  EXPECT_EQ(next.entries[0].name, long_name);
  EXPECT_TRUE(next.eof);
}

}  // namespace
}  // namespace vaultnfs::testing
