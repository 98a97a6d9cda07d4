// File handles as design.md requires them: they survive renames and server
// restarts in any order, only removal makes them STALE (also after a
// restart, and also when the inode is reused by a new file), a forged or
// damaged handle is BADHANDLE and never names another file, and fileids
// are unique in the export and stable across rename and restart.
//
// Every check sends the saved handle bytes with a raw NFSv3 call, as a
// client holding an open file would after the server went away and came
// back.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "tests/nfs_harness.h"
#include "tests/nfs_raw.h"
#include "tests/testing.h"

namespace vaultnfs::testing {
namespace {

constexpr char kPassword[] = "handles test password";

std::string Content(const std::string& tag, size_t size) {
  std::string out;
  out.reserve(size);
  while (out.size() < size) out += tag + ":" + std::to_string(out.size()) + ";";
  out.resize(size);
  return out;
}

class NfsHandlesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    vaultcore::CreateOptions options;
    options.scrypt.n = 1024;
    ASSERT_TRUE(IsOk(vaultcore::Vault::Create(vault_path_, kPassword, options)));
    server_ = std::make_unique<TestServer>(vault_path_, kPassword);
    Connect();
  }

  // A new client connection (after a restart the old one is gone) and the
  // root handle from MOUNT.
  void Connect() {
    raw_.reset();
    client_.reset();
    client_ = std::make_unique<NfsClient>(*server_);
    ASSERT_TRUE(client_->ok()) << client_->error();
    raw_ = std::make_unique<RawNfs>(client_->raw());
    const MountResult mounted = raw_->Mnt("/");
    ASSERT_EQ(mounted.status, MNT3_OK) << raw_->error();
    if (!root_.empty()) {
      EXPECT_EQ(mounted.fh, root_) << "the root handle changed";
    }
    root_ = mounted.fh;
  }

  void Restart() {
    raw_.reset();
    client_.reset();
    server_->Restart();
    Connect();
  }

  RawNfs& raw() { return *raw_; }
  nfs_context* nfs() { return client_->get(); }

  Fh HandleOf(const std::string& path, fattr3* attr = nullptr) {
    const LookupResult found = raw().LookupPath(root_, path);
    EXPECT_EQ(found.status, NFS3_OK) << "LOOKUP " << path << ": " << raw().error();
    if (found.status == NFS3_OK && attr != nullptr) *attr = found.attr.value_or(fattr3{});
    return found.fh;
  }

  void Write(const std::string& path, const std::string& content) {
    ASSERT_EQ(client_->WriteFile(path, content), 0) << path << ": " << client_->error();
  }

  // The handle still names a file with exactly `content` (and `fileid`).
  ::testing::AssertionResult ReadsAs(const Fh& handle, const std::string& content,
                                     uint64_t fileid = 0) {
    const GETATTR3res got = raw().Getattr(handle);
    if (got.status != NFS3_OK) {
      return ::testing::AssertionFailure() << "GETATTR: " << got.status << " " << raw().error();
    }
    const fattr3& attr = got.GETATTR3res_u.resok.obj_attributes;
    if (attr.type != NF3REG || attr.size != content.size()) {
      return ::testing::AssertionFailure()
             << "GETATTR: type " << attr.type << " size " << attr.size;
    }
    if (fileid != 0 && attr.fileid != fileid) {
      return ::testing::AssertionFailure() << "fileid " << attr.fileid << " != " << fileid;
    }
    const ReadResult back = raw().ReadAll(handle);
    if (back.status != NFS3_OK) {
      return ::testing::AssertionFailure() << "READ: " << back.status << " " << raw().error();
    }
    if (back.data != content) return ::testing::AssertionFailure() << "READ returned other data";
    return ::testing::AssertionSuccess();
  }

  // A directory handle still works: GETATTR says directory (with `fileid`)
  // and LOOKUP of `child` through it finds `child_fileid`.
  ::testing::AssertionResult DirectoryWorks(const Fh& dir, uint64_t fileid,
                                            const std::string& child, uint64_t child_fileid) {
    const GETATTR3res got = raw().Getattr(dir);
    if (got.status != NFS3_OK) {
      return ::testing::AssertionFailure() << "GETATTR: " << got.status << " " << raw().error();
    }
    const fattr3& attr = got.GETATTR3res_u.resok.obj_attributes;
    if (attr.type != NF3DIR) return ::testing::AssertionFailure() << "type " << attr.type;
    if (attr.fileid != fileid) {
      return ::testing::AssertionFailure() << "fileid " << attr.fileid << " != " << fileid;
    }
    const LookupResult found = raw().Lookup(dir, child);
    if (found.status != NFS3_OK) {
      return ::testing::AssertionFailure()
             << "LOOKUP " << child << ": " << found.status << " " << raw().error();
    }
    const fattr3 child_attr = found.attr.value_or(fattr3{});
    if (child_attr.fileid != child_fileid) {
      return ::testing::AssertionFailure() << "child fileid " << child_attr.fileid;
    }
    const DirListing listing = raw().ListDirPlus(dir, 4096, 32768);
    if (listing.status != NFS3_OK) {
      return ::testing::AssertionFailure()
             << "READDIRPLUS: " << listing.status << " " << raw().error();
    }
    return ::testing::AssertionSuccess();
  }

  uint64_t FileidOf(const Fh& handle) {
    const GETATTR3res got = raw().Getattr(handle);
    EXPECT_EQ(got.status, NFS3_OK);
    return got.status == NFS3_OK ? got.GETATTR3res_u.resok.obj_attributes.fileid : 0;
  }

  TempDir dir_;
  std::string vault_path_ = dir_.str() + "/vault";
  std::unique_ptr<TestServer> server_;
  std::unique_ptr<NfsClient> client_;
  std::unique_ptr<RawNfs> raw_;
  Fh root_;
};

TEST_F(NfsHandlesTest, HandlesSurviveRenameInSameDirectory) {
  ASSERT_EQ(nfs_mkdir(nfs(), "/d"), 0) << client_->error();
  const std::string content = Content("same-dir", 70'000);
  Write("/d/f.txt", content);
  const Fh file = HandleOf("/d/f.txt");
  const Fh dir = HandleOf("/d");
  const uint64_t file_id = FileidOf(file), dir_id = FileidOf(dir);

  ASSERT_EQ(nfs_rename(nfs(), "/d/f.txt", "/d/g.txt"), 0) << client_->error();
  EXPECT_TRUE(ReadsAs(file, content, file_id));
  EXPECT_TRUE(DirectoryWorks(dir, dir_id, "g.txt", file_id));
  // A fresh LOOKUP of the new name gives the same object.
  fattr3 attr{};
  HandleOf("/d/g.txt", &attr);
  EXPECT_EQ(attr.fileid, file_id);
}

TEST_F(NfsHandlesTest, HandlesSurviveRenameIntoAnotherDirectory) {
  ASSERT_EQ(nfs_mkdir(nfs(), "/from"), 0) << client_->error();
  ASSERT_EQ(nfs_mkdir(nfs(), "/to"), 0) << client_->error();
  const std::string content = Content("moved", 40'000);
  Write("/from/f.txt", content);
  const Fh file = HandleOf("/from/f.txt");
  const uint64_t file_id = FileidOf(file);

  ASSERT_EQ(nfs_rename(nfs(), "/from/f.txt", "/to/renamed.txt"), 0) << client_->error();
  EXPECT_TRUE(ReadsAs(file, content, file_id));
  // Then a restart: the handle's directory hint is now wrong and the
  // server has forgotten the move.
  Restart();
  EXPECT_TRUE(ReadsAs(file, content, file_id));
}

TEST_F(NfsHandlesTest, HandlesSurviveRenameThenRestart) {
  ASSERT_EQ(nfs_mkdir(nfs(), "/a"), 0) << client_->error();
  ASSERT_EQ(nfs_mkdir(nfs(), "/b"), 0) << client_->error();
  const std::string content = Content("rename-restart", 33'000);
  Write("/a/file", content);
  ASSERT_EQ(nfs_symlink(nfs(), "../a/file", "/a/link"), 0) << client_->error();
  const Fh file = HandleOf("/a/file");
  const Fh link = HandleOf("/a/link");
  const Fh dir = HandleOf("/a");
  const uint64_t file_id = FileidOf(file), dir_id = FileidOf(dir), link_id = FileidOf(link);

  ASSERT_EQ(nfs_rename(nfs(), "/a/file", "/b/file2"), 0) << client_->error();
  ASSERT_EQ(nfs_rename(nfs(), "/a/link", "/b/link2"), 0) << client_->error();
  ASSERT_EQ(nfs_rename(nfs(), "/a", "/b/a2"), 0) << client_->error();
  Write("/b/a2/marker", "m");
  const uint64_t marker_id = FileidOf(HandleOf("/b/a2/marker"));
  Restart();

  EXPECT_TRUE(ReadsAs(file, content, file_id));
  EXPECT_TRUE(DirectoryWorks(dir, dir_id, "marker", marker_id));
  const ReadlinkResult target = raw().Readlink(link);
  EXPECT_EQ(target.status, NFS3_OK);
  EXPECT_EQ(target.target, "../a/file");
  EXPECT_EQ(FileidOf(link), link_id);

  // A second restart with no use of the handles in between.
  Restart();
  EXPECT_TRUE(ReadsAs(file, content, file_id));
  EXPECT_TRUE(DirectoryWorks(dir, dir_id, "marker", marker_id));
}

TEST_F(NfsHandlesTest, HandlesSurviveRestartThenRename) {
  ASSERT_EQ(nfs_mkdir(nfs(), "/a"), 0) << client_->error();
  ASSERT_EQ(nfs_mkdir(nfs(), "/a/inner"), 0) << client_->error();
  ASSERT_EQ(nfs_mkdir(nfs(), "/b"), 0) << client_->error();
  const std::string content = Content("restart-rename", 98'304);
  Write("/a/inner/file", content);
  const Fh file = HandleOf("/a/inner/file");
  const Fh inner = HandleOf("/a/inner");
  const uint64_t file_id = FileidOf(file), inner_id = FileidOf(inner);

  Restart();
  // Renamed by a client that never used the held handles since the
  // restart: the file into another directory, its old directory too.
  ASSERT_EQ(nfs_rename(nfs(), "/a/inner/file", "/b/file"), 0) << client_->error();
  ASSERT_EQ(nfs_rename(nfs(), "/a/inner", "/b/inner-renamed"), 0) << client_->error();
  Write("/b/inner-renamed/new", "n");
  const uint64_t new_id = FileidOf(HandleOf("/b/inner-renamed/new"));
  EXPECT_TRUE(ReadsAs(file, content, file_id));
  EXPECT_TRUE(DirectoryWorks(inner, inner_id, "new", new_id));

  Restart();
  EXPECT_TRUE(ReadsAs(file, content, file_id));
  EXPECT_TRUE(DirectoryWorks(inner, inner_id, "new", new_id));
}

TEST_F(NfsHandlesTest, HandlesSurviveRenameBehindTheServersBack) {
  // A sync client (or Cryptomator itself) renames while the server runs:
  // the server learns nothing of it.
  ASSERT_EQ(nfs_mkdir(nfs(), "/x"), 0) << client_->error();
  ASSERT_EQ(nfs_mkdir(nfs(), "/y"), 0) << client_->error();
  const std::string content = Content("behind", 5'000);
  Write("/x/f", content);
  const Fh file = HandleOf("/x/f");
  const Fh dir = HandleOf("/x");
  const uint64_t file_id = FileidOf(file), dir_id = FileidOf(dir);

  auto other = vaultcore::Vault::Open(vault_path_, kPassword);
  ASSERT_TRUE(IsOk(other));
  auto x = (*other)->ResolvePath("/x");
  auto y = (*other)->ResolvePath("/y");
  ASSERT_TRUE(IsOk(x));
  ASSERT_TRUE(IsOk(y));
  ASSERT_TRUE(IsOk((*other)->Rename(x->AsDir(), "f", y->AsDir(), "g")));
  ASSERT_TRUE(IsOk((*other)->Rename((*other)->Root(), "x", y->AsDir(), "x2")));
  ASSERT_TRUE(IsOk((*other)->CreateFile(x->AsDir(), "inside", 0644)));
  const uint64_t inside_id = (*other)->ResolvePath("/y/x2/inside")->attr.fileid;

  EXPECT_TRUE(ReadsAs(file, content, file_id));
  EXPECT_TRUE(DirectoryWorks(dir, dir_id, "inside", inside_id));
  Restart();
  EXPECT_TRUE(ReadsAs(file, content, file_id));
  EXPECT_TRUE(DirectoryWorks(dir, dir_id, "inside", inside_id));
}

TEST_F(NfsHandlesTest, RenamedDirectoryKeepsChildHandles) {
  ASSERT_EQ(nfs_mkdir(nfs(), "/top"), 0) << client_->error();
  ASSERT_EQ(nfs_mkdir(nfs(), "/top/mid"), 0) << client_->error();
  ASSERT_EQ(nfs_mkdir(nfs(), "/elsewhere"), 0) << client_->error();
  std::vector<std::pair<std::string, std::string>> files = {
      {"/top/a.txt", Content("a", 10)},
      {"/top/mid/b.txt", Content("b", 32'768)},
      {"/top/mid/c.txt", Content("c", 32'769)},
  };
  for (const auto& [path, content] : files) Write(path, content);
  std::vector<Fh> handles;
  std::vector<uint64_t> ids;
  for (const auto& [path, content] : files) {
    handles.push_back(HandleOf(path));
    ids.push_back(FileidOf(handles.back()));
  }
  const Fh top = HandleOf("/top");
  const Fh mid = HandleOf("/top/mid");
  const uint64_t top_id = FileidOf(top), mid_id = FileidOf(mid);

  auto check = [&](const char* when) {
    SCOPED_TRACE(when);
    for (size_t i = 0; i < files.size(); ++i) {
      EXPECT_TRUE(ReadsAs(handles[i], files[i].second, ids[i])) << files[i].first;
    }
    EXPECT_TRUE(DirectoryWorks(top, top_id, "a.txt", ids[0]));
    EXPECT_TRUE(DirectoryWorks(mid, mid_id, "b.txt", ids[1]));
  };
  ASSERT_EQ(nfs_rename(nfs(), "/top", "/top-renamed"), 0) << client_->error();
  check("after renaming the parent");
  ASSERT_EQ(nfs_rename(nfs(), "/top-renamed/mid", "/elsewhere/mid"), 0) << client_->error();
  check("after moving the child directory elsewhere");
  Restart();
  check("after a restart");
  ASSERT_EQ(nfs_rename(nfs(), "/elsewhere", "/elsewhere2"), 0) << client_->error();
  check("after renaming the new parent");
  Restart();
  check("after a second restart");
}

TEST_F(NfsHandlesTest, RemovedFileIsStaleAlsoAfterRestart) {
  ASSERT_EQ(nfs_mkdir(nfs(), "/gone-dir"), 0) << client_->error();
  Write("/gone.txt", "soon gone");
  Write("/kept.txt", "kept");
  ASSERT_EQ(nfs_symlink(nfs(), "kept.txt", "/gone-link"), 0) << client_->error();
  const Fh file = HandleOf("/gone.txt");
  const Fh dir = HandleOf("/gone-dir");
  const Fh link = HandleOf("/gone-link");
  const Fh kept = HandleOf("/kept.txt");

  ASSERT_EQ(nfs_unlink(nfs(), "/gone.txt"), 0) << client_->error();
  ASSERT_EQ(nfs_rmdir(nfs(), "/gone-dir"), 0) << client_->error();
  ASSERT_EQ(nfs_unlink(nfs(), "/gone-link"), 0) << client_->error();

  auto all_stale = [&](const char* when) {
    SCOPED_TRACE(when);
    EXPECT_EQ(raw().Getattr(file).status, NFS3ERR_STALE);
    EXPECT_EQ(raw().Read(file, 0, 100).status, NFS3ERR_STALE);
    EXPECT_EQ(raw().Write(file, 0, "x", FILE_SYNC).status, NFS3ERR_STALE);
    EXPECT_EQ(raw().Getattr(dir).status, NFS3ERR_STALE);
    EXPECT_EQ(raw().Lookup(dir, "anything").status, NFS3ERR_STALE);
    EXPECT_EQ(raw().ListDir(dir, 4096).status, NFS3ERR_STALE);
    EXPECT_EQ(raw().Getattr(link).status, NFS3ERR_STALE);
    EXPECT_EQ(raw().Readlink(link).status, NFS3ERR_STALE);
    EXPECT_TRUE(ReadsAs(kept, "kept"));
  };
  all_stale("right after the removal");
  Restart();
  all_stale("after a restart");
  // A new file under the old name is another file.
  Write("/gone.txt", "a new file");
  all_stale("after a new file took the name");
  Restart();
  all_stale("after another restart");
}

TEST_F(NfsHandlesTest, RemovedBehindTheServersBackIsStale) {
  Write("/external.txt", "removed by a sync client");
  const Fh file = HandleOf("/external.txt");
  EXPECT_TRUE(ReadsAs(file, "removed by a sync client"));
  auto other = vaultcore::Vault::Open(vault_path_, kPassword);
  ASSERT_TRUE(IsOk(other));
  ASSERT_TRUE(IsOk((*other)->Remove((*other)->Root(), "external.txt")));
  // Data goes by the disk at once; GETATTR may answer from the attribute
  // cache until its TTL (1 s by default) has passed, as a client's would.
  EXPECT_EQ(raw().ReadAll(file).status, NFS3ERR_STALE);
  std::this_thread::sleep_for(server::ExportOptions().attribute_cache_ttl +
                              std::chrono::milliseconds(100));
  EXPECT_EQ(raw().Getattr(file).status, NFS3ERR_STALE);
  Restart();
  EXPECT_EQ(raw().Getattr(file).status, NFS3ERR_STALE);
}

// Descriptors of this process on files of `dir` that are no longer in
// any directory: each keeps the disk space of a removed file.
int DeletedFilesHeldOpen(const std::string& dir) {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    const std::string target = std::filesystem::read_symlink(e.path(), ec).string();
    if (!ec && target.starts_with(dir) && target.ends_with(" (deleted)")) ++n;
  }
  return n;
}

TEST_F(NfsHandlesTest, RemovedFilesAreNotHeldOpen) {
  const std::string content = Content("space", 200'000);
  auto write_committed = [&](const std::string& path) {
    nfsfh* fh = nullptr;
    ASSERT_EQ(nfs_open2(nfs(), path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644, &fh), 0)
        << client_->error();
    ASSERT_EQ(nfs_pwrite(nfs(), fh, 0, content.size(), content.data()),
              static_cast<int>(content.size()))
        << client_->error();
    ASSERT_EQ(nfs_fsync(nfs(), fh), 0) << client_->error();
    ASSERT_EQ(nfs_close(nfs(), fh), 0) << client_->error();
  };
  for (int i = 0; i < 5; ++i) write_committed("/r" + std::to_string(i));
  ASSERT_EQ(nfs_rename(nfs(), "/r4", "/r3"), 0) << client_->error();  // replaces r3
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(nfs_unlink(nfs(), ("/r" + std::to_string(i)).c_str()), 0) << client_->error();
  }
  EXPECT_EQ(DeletedFilesHeldOpen(vault_path_), 0) << "removed through NFS";

  // Removed behind the server's back: let go when another file is opened,
  // at most a second after the server last looked.
  write_committed("/ext");
  auto other = vaultcore::Vault::Open(vault_path_, kPassword);
  ASSERT_TRUE(IsOk(other));
  ASSERT_TRUE(IsOk((*other)->Remove((*other)->Root(), "ext")));
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  write_committed("/next");
  EXPECT_EQ(DeletedFilesHeldOpen(vault_path_), 0) << "removed by a sync client";
}

// Removing a file and creating another often hands the new file the same
// inode (ext4 does at once when nobody holds the old one open). The old
// handle must never read the new file.
TEST_F(NfsHandlesTest, ReusedInodeNeverReadsTheNewFile) {
  struct Old {
    Fh handle;
    uint64_t fileid = 0;
    std::string new_content;
  };
  std::vector<Old> olds;
  int reused = 0;
  auto other = vaultcore::Vault::Open(vault_path_, kPassword);
  ASSERT_TRUE(IsOk(other));
  vaultcore::Vault& vault = **other;
  // Files made and filled behind the server, so that it holds none of
  // them open and the file system is free to reuse their inodes.
  auto create = [&](const std::string& name, const std::string& content) {
    auto created = vault.CreateFile(vault.Root(), name, 0644);
    ASSERT_TRUE(IsOk(created));
    auto file = vault.OpenFile(*created);
    ASSERT_TRUE(IsOk(file));
    ASSERT_TRUE(IsOk((*file)->Write(0, vaultcore::AsBytes(content))));
  };
  for (int i = 0; i < 24; ++i) {
    const std::string old_name = "old-" + std::to_string(i);
    const std::string new_name = "new-" + std::to_string(i);
    create(old_name, Content(old_name, 1000));
    Old old;
    old.handle = HandleOf("/" + old_name);
    old.fileid = FileidOf(old.handle);
    old.new_content = Content(new_name, 1000);
    if (i % 2 == 0) {
      // Through NFS: the server knows of the removal.
      ASSERT_EQ(nfs_unlink(nfs(), ("/" + old_name).c_str()), 0) << client_->error();
    } else {
      // Behind its back, as a sync client would.
      ASSERT_TRUE(IsOk(vault.Remove(vault.Root(), old_name)));
    }
    create(new_name, old.new_content);
    fattr3 attr{};
    HandleOf("/" + new_name, &attr);
    if (attr.fileid == old.fileid) ++reused;
    olds.push_back(std::move(old));
  }
  // On a file system that never reuses inodes (tmpfs) this proves less.
  std::cout << "inodes reused by the new file: " << reused << " of " << olds.size() << "\n";

  auto check = [&](const char* when) {
    SCOPED_TRACE(when);
    for (const Old& old : olds) {
      const ReadResult read = raw().ReadAll(old.handle);
      EXPECT_EQ(read.status, NFS3ERR_STALE);
      if (read.status == NFS3_OK) {
        EXPECT_NE(read.data, old.new_content) << "the old handle reads the new file";
      }
      EXPECT_EQ(raw().Getattr(old.handle).status, NFS3ERR_STALE);
      EXPECT_EQ(raw().Write(old.handle, 0, "must not land", FILE_SYNC).status, NFS3ERR_STALE);
    }
  };
  check("while running");
  Restart();
  check("after a restart");
  // And the new files are intact.
  for (size_t i = 0; i < olds.size(); ++i) {
    EXPECT_TRUE(ReadsAs(HandleOf("/new-" + std::to_string(i)), olds[i].new_content)) << i;
  }
}

// design.md's case exactly: a client opened a file, saw it renamed, then
// saw the server restart, and keeps using what it holds (libnfs
// reconnects on its own), reading and writing through its open file.
TEST_F(NfsHandlesTest, OpenFileKeepsWorkingAcrossRenameAndRestart) {
  ASSERT_EQ(nfs_mkdir(nfs(), "/docs"), 0) << client_->error();
  const std::string content = Content("open", 50'000);
  Write("/docs/report.txt", content);
  nfsfh* open_file = nullptr;
  ASSERT_EQ(nfs_open(nfs(), "/docs/report.txt", O_RDWR, &open_file), 0) << client_->error();
  const Fh file = HandleOf("/docs/report.txt");
  {
    NfsClient other(*server_);
    ASSERT_TRUE(other.ok()) << other.error();
    ASSERT_EQ(nfs_rename(other.get(), "/docs", "/archive"), 0) << other.error();
    ASSERT_EQ(nfs_rename(other.get(), "/archive/report.txt", "/archive/report-2024.txt"), 0)
        << other.error();
  }
  server_->Restart();  // this client's connection breaks; it reconnects

  std::string back(content.size(), '\0');
  ASSERT_EQ(nfs_pread(nfs(), open_file, 0, back.size(), back.data()),
            static_cast<int>(content.size()))
      << client_->error();
  EXPECT_EQ(back, content);
  ASSERT_EQ(nfs_pwrite(nfs(), open_file, 10, 5, "XXXXX"), 5) << client_->error();
  ASSERT_EQ(nfs_fsync(nfs(), open_file), 0) << client_->error();
  ASSERT_EQ(nfs_close(nfs(), open_file), 0) << client_->error();
  std::string expected = content;
  expected.replace(10, 5, "XXXXX");
  EXPECT_TRUE(ReadsAs(file, expected));
  std::string by_path;
  ASSERT_EQ(client_->ReadFile("/archive/report-2024.txt", &by_path), 0) << client_->error();
  EXPECT_EQ(by_path, expected);
}

// GETATTR with `handle` sent byte for byte over a new TCP connection, so
// that lengths libnfs refuses to encode (over 64 bytes) reach the server.
struct RawReply {
  bool replied = false;
  uint32_t reply_stat = 0;   // 0 MSG_ACCEPTED
  uint32_t accept_stat = 0;  // 0 SUCCESS, 4 GARBAGE_ARGS
  uint32_t nfs_status = 0;   // when SUCCESS
};

RawReply RawGetattr(uint16_t port, std::string_view handle) {
  RawReply reply;
  std::vector<uint8_t> call;
  auto u32 = [&](uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) call.push_back(static_cast<uint8_t>(v >> shift));
  };
  u32(0);           // record mark, filled in below
  u32(0x5eed1234);  // xid
  u32(0);           // CALL
  u32(2);           // RPC version
  u32(100003);      // NFS
  u32(3);
  u32(1);  // GETATTR
  u32(1);  // AUTH_SYS
  u32(20);
  u32(0);  // stamp
  u32(0);  // machine name ""
  u32(getuid());
  u32(getgid());
  u32(0);  // no extra groups
  u32(0);  // verifier AUTH_NONE
  u32(0);
  u32(static_cast<uint32_t>(handle.size()));
  call.insert(call.end(), handle.begin(), handle.end());
  while (call.size() % 4 != 0) call.push_back(0);
  const uint32_t mark = 0x80000000U | static_cast<uint32_t>(call.size() - 4);
  for (int i = 0; i < 4; ++i) call[i] = static_cast<uint8_t>(mark >> (24 - 8 * i));

  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return reply;
  timeval timeout{30, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      send(fd, call.data(), call.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(call.size())) {
    close(fd);
    return reply;
  }
  std::vector<uint8_t> in;
  uint8_t buffer[4096];
  for (;;) {
    if (in.size() >= 4) {
      const uint32_t length = ((in[0] & 0x7fU) << 24) | (in[1] << 16) | (in[2] << 8) | in[3];
      if (in.size() >= 4 + length) break;
    }
    const ssize_t n = recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    in.insert(in.end(), buffer, buffer + n);
  }
  close(fd);
  auto at = [&](size_t word) -> uint32_t {
    const size_t i = 4 + 4 * word;
    if (i + 4 > in.size()) return 0xffffffffU;
    return (uint32_t{in[i]} << 24) | (uint32_t{in[i + 1]} << 16) | (uint32_t{in[i + 2]} << 8) |
           in[i + 3];
  };
  // xid, REPLY, reply_stat, verifier flavor, verifier length (0), accept_stat, result
  if (in.size() < 4 + 6 * 4 || at(0) != 0x5eed1234 || at(1) != 1) return reply;
  reply.replied = true;
  reply.reply_stat = at(2);
  reply.accept_stat = at(5);
  reply.nfs_status = at(6);
  return reply;
}

TEST_F(NfsHandlesTest, ForgedHandlesAreBadHandle) {
  const std::string content = Content("real", 2000);
  Write("/real.txt", content);
  Write("/other.txt", "another file");
  const Fh real = HandleOf("/real.txt");
  const Fh real_dir = root_;
  ASSERT_FALSE(real.empty());
  ASSERT_LE(real.size(), 64U);

  auto expect_bad = [&](const Fh& forged, const std::string& what) {
    EXPECT_EQ(raw().Getattr(forged).status, NFS3ERR_BADHANDLE) << what << " " << raw().error();
  };

  // Random bytes, every length libnfs can send.
  std::mt19937 random(12345);
  for (int i = 0; i < 300; ++i) {
    Fh forged(1 + random() % 64, '\0');
    for (char& b : forged) b = static_cast<char>(random());
    expect_bad(forged, "random bytes of length " + std::to_string(forged.size()));
  }
  // Random bytes that look like a handle of this server (same length,
  // version and kind bytes as the real one).
  for (int i = 0; i < 100; ++i) {
    Fh forged(real.size(), '\0');
    for (char& b : forged) b = static_cast<char>(random());
    forged[0] = real[0];
    forged[1] = real[1];
    expect_bad(forged, "random body");
  }
  // Every single-bit flip.
  for (size_t pos = 0; pos < real.size(); ++pos) {
    for (int bit = 0; bit < 8; ++bit) {
      Fh forged = real;
      forged[pos] ^= static_cast<char>(1U << bit);
      expect_bad(forged, "bit " + std::to_string(bit) + " of byte " + std::to_string(pos));
    }
    // The other procedures that take a handle refuse it too.
    Fh forged = real;
    forged[pos] ^= 0x10;
    EXPECT_EQ(raw().Read(forged, 0, 100).status, NFS3ERR_BADHANDLE) << pos;
    EXPECT_EQ(raw().Write(forged, 0, "overwrite", FILE_SYNC).status, NFS3ERR_BADHANDLE) << pos;
    EXPECT_EQ(raw().Commit(forged).status, NFS3ERR_BADHANDLE) << pos;
    Fh forged_dir = real_dir;
    forged_dir[pos % forged_dir.size()] ^= 0x01;
    EXPECT_EQ(raw().Lookup(forged_dir, "real.txt").status, NFS3ERR_BADHANDLE) << pos;
    EXPECT_EQ(raw().ListDirPlus(forged_dir, 4096, 8192).status, NFS3ERR_BADHANDLE) << pos;
  }
  // Truncated, and extended up to the 64 bytes NFSv3 allows.
  for (size_t length = 0; length < real.size(); ++length) {
    expect_bad(real.substr(0, length), "truncated to " + std::to_string(length));
  }
  for (size_t length = real.size() + 1; length <= 64; ++length) {
    Fh forged = real;
    forged.resize(length, '\0');
    expect_bad(forged, "zero-extended to " + std::to_string(length));
  }

  // 65 bytes breaks the XDR limit of fhandle3 (opaque<64>): the call
  // cannot even be decoded. GARBAGE_ARGS is what RFC 1813's XDR asks for;
  // BADHANDLE would do too. Anything else, or no answer, is wrong.
  for (size_t length : {65U, 100U, 4000U}) {
    Fh forged = real;
    forged.resize(length, static_cast<char>(0xab));
    const RawReply reply = RawGetattr(server_->port(), forged);
    ASSERT_TRUE(reply.replied) << "no reply to a " << length << "-byte handle";
    EXPECT_EQ(reply.reply_stat, 0U);
    EXPECT_TRUE(reply.accept_stat == 4 ||
                (reply.accept_stat == 0 && reply.nfs_status == NFS3ERR_BADHANDLE))
        << "accept_stat " << reply.accept_stat << " nfs status " << reply.nfs_status;
  }
  // The raw path itself works: the real handle over the same code.
  const RawReply good = RawGetattr(server_->port(), real);
  EXPECT_TRUE(good.replied && good.accept_stat == 0 && good.nfs_status == NFS3_OK);

  // Nothing was damaged, and the server still serves.
  EXPECT_TRUE(ReadsAs(real, content));
  EXPECT_TRUE(ReadsAs(HandleOf("/other.txt"), "another file"));
}

TEST_F(NfsHandlesTest, HandleOfAnotherVaultIsBadHandle) {
  // Same layout, other master key: its handles must not work here.
  TempDir other_dir;
  const std::string other_path = other_dir.str() + "/vault";
  vaultcore::CreateOptions options;
  options.scrypt.n = 1024;
  ASSERT_TRUE(IsOk(vaultcore::Vault::Create(other_path, kPassword, options)));
  Fh foreign_root;
  {
    TestServer other(other_path, kPassword);
    NfsClient client(other);
    ASSERT_TRUE(client.ok()) << client.error();
    RawNfs other_raw(client.raw());
    const MountResult mounted = other_raw.Mnt("/");
    ASSERT_EQ(mounted.status, MNT3_OK);
    foreign_root = mounted.fh;
  }
  EXPECT_EQ(foreign_root.size(), root_.size());
  EXPECT_EQ(raw().Getattr(foreign_root).status, NFS3ERR_BADHANDLE);
}

// Walks the tree with READDIRPLUS from `dir`, recording path -> fileid for
// every object and checking each entry's fileid against its attributes
// and its handle's GETATTR.
void Walk(RawNfs& raw, const Fh& dir, const std::string& path,
          std::map<std::string, uint64_t>* ids) {
  const DirListing listing = raw.ListDirPlus(dir, 1024, 8192);
  ASSERT_EQ(listing.status, NFS3_OK) << path << ": " << raw.error();
  for (const DirEntry& e : listing.entries) {
    if (e.name == "." || e.name == "..") continue;
    const std::string child = (path == "/" ? "" : path) + "/" + e.name;
    EXPECT_NE(e.fileid, 0U) << child;
    ASSERT_TRUE(e.attr.has_value()) << child;
    EXPECT_EQ(e.attr->fileid, e.fileid) << child;
    Fh handle = e.fh.value_or(Fh());
    if (handle.empty()) {
      const LookupResult found = raw.Lookup(dir, e.name);
      ASSERT_EQ(found.status, NFS3_OK) << child;
      handle = found.fh;
    }
    const GETATTR3res got = raw.Getattr(handle);
    ASSERT_EQ(got.status, NFS3_OK) << child;
    EXPECT_EQ(got.GETATTR3res_u.resok.obj_attributes.fileid, e.fileid) << child;
    EXPECT_TRUE(ids->emplace(child, e.fileid).second) << child << " listed twice";
    if (e.attr->type == NF3DIR) Walk(raw, handle, child, ids);
  }
}

TEST_F(NfsHandlesTest, FileidsAreUniqueAndStable) {
  for (int d = 0; d < 4; ++d) {
    const std::string dir = "/dir" + std::to_string(d);
    ASSERT_EQ(nfs_mkdir(nfs(), dir.c_str()), 0) << client_->error();
    ASSERT_EQ(nfs_mkdir(nfs(), (dir + "/sub").c_str()), 0) << client_->error();
    for (int f = 0; f < 12; ++f) {
      Write(dir + "/f" + std::to_string(f), Content(dir, static_cast<size_t>(f) * 10));
    }
    Write(dir + "/sub/deep", "deep");
    ASSERT_EQ(nfs_symlink(nfs(), "f0", (dir + "/link").c_str()), 0) << client_->error();
  }
  // A name long enough to be shortened (.c9s) gets its fileid from
  // contents.c9r, not from the node directory.
  const std::string long_name = "/dir0/" + std::string(200, 'L');
  Write(long_name, "long");

  const GETATTR3res root_attr = raw().Getattr(root_);
  ASSERT_EQ(root_attr.status, NFS3_OK);
  std::map<std::string, uint64_t> before;
  before["/"] = root_attr.GETATTR3res_u.resok.obj_attributes.fileid;
  Walk(raw(), root_, "/", &before);
  ASSERT_EQ(before.size(), 1 + 4 * (2 + 12 + 1 + 1) + 1U);
  std::set<uint64_t> unique;
  for (const auto& [path, id] : before) {
    EXPECT_NE(id, 0U) << path;
    EXPECT_TRUE(unique.insert(id).second) << path << " shares fileid " << id;
  }

  // Rename a file, a symlink, a long-named file and a directory; the
  // objects keep their fileids under their new paths.
  ASSERT_EQ(nfs_rename(nfs(), "/dir0/f1", "/dir1/moved"), 0) << client_->error();
  ASSERT_EQ(nfs_rename(nfs(), "/dir0/link", "/dir2/link-moved"), 0) << client_->error();
  ASSERT_EQ(nfs_rename(nfs(), long_name.c_str(), "/dir3/short"), 0) << client_->error();
  ASSERT_EQ(nfs_rename(nfs(), "/dir2", "/dir0/dir2-moved"), 0) << client_->error();
  auto expected = [&] {
    std::map<std::string, uint64_t> out;
    for (const auto& [old_path, id] : before) {
      std::string path = old_path;
      auto replace = [&](const std::string& from, const std::string& to) {
        if (path == from || path.starts_with(from + "/")) path.replace(0, from.size(), to);
      };
      replace("/dir0/f1", "/dir1/moved");
      replace("/dir0/link", "/dir2/link-moved");
      replace(long_name, "/dir3/short");
      replace("/dir2", "/dir0/dir2-moved");
      out[path] = id;
    }
    return out;
  }();

  auto walk = [&] {
    std::map<std::string, uint64_t> ids;
    ids["/"] = FileidOf(root_);
    Walk(raw(), root_, "/", &ids);
    return ids;
  };
  EXPECT_EQ(walk(), expected);
  Restart();
  EXPECT_EQ(walk(), expected);
}

}  // namespace
}  // namespace vaultnfs::testing
