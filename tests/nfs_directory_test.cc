// READDIR and READDIRPLUS of a directory of 2,500 entries, page by page,
// each filling its byte budget (count, maxcount) measured as sent, with
// exact cookie resumption; FSSTAT, FSINFO and PATHCONF; and MOUNT v3: MNT
// of the root and of subdirectories, DUMP, UMNT, UMNTALL, EXPORT. The rest
// of NFSv3 is in nfs_procedures_test.cc, the error statuses in
// nfs_errors_test.cc.
#include <gtest/gtest.h>
#include <sys/statvfs.h>

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/nfs_raw.h"

namespace vaultnfs::testing {
namespace {

using DirectoryTest = RawNfsTest;

// ---- READDIR / READDIRPLUS ----

struct Listed {
  std::vector<std::string> names;  // in order, "." and ".." included
  std::map<std::string, DirEntry> entries;
  size_t pages = 0;
};

// Lists `dir` from the start, one page at a time, checking every page
// against the budget: never over count/maxcount, and full (the next page's
// first entry would not have fitted), whatever READDIRPLUS's dircount;
// never an empty page without eof, cookies that resume exactly where the
// page stopped.
Listed ListAll(RawNfs& nfs, const Fh& dir, bool plus, uint32_t dircount, uint32_t maxcount) {
  Listed listed;
  uint64_t cookie = 0;
  uint64_t verifier = 0;
  size_t last_page_size = 0;
  for (;;) {
    DirPage page = plus ? nfs.Readdirplus(dir, cookie, verifier, dircount, maxcount)
                        : nfs.Readdir(dir, cookie, verifier, maxcount);
    EXPECT_EQ(page.status, NFS3_OK) << "page " << listed.pages << " cookie " << cookie;
    if (page.status != NFS3_OK) break;
    ++listed.pages;
    EXPECT_LE(page.encoded_size, maxcount) << "page " << listed.pages;
    if (listed.pages > 1 && !page.entries.empty()) {
      EXPECT_GT(last_page_size + page.entries.front().wire_size, maxcount)
          << "page " << listed.pages - 1 << " stopped before " << page.entries.front().name;
    }
    last_page_size = page.encoded_size;
    EXPECT_TRUE(page.dir_attr);
    if (verifier != 0) {
      EXPECT_EQ(page.verifier, verifier);
    }
    verifier = page.verifier;
    if (page.entries.empty()) {
      EXPECT_TRUE(page.eof) << "an empty page without eof, cookie " << cookie;
      break;
    }
    for (DirEntry& e : page.entries) {
      EXPECT_NE(e.cookie, 0u);
      EXPECT_NE(e.fileid, 0u);
      EXPECT_EQ(listed.entries.count(e.name), 0u) << "listed twice: " << e.name;
      listed.names.push_back(e.name);
      cookie = e.cookie;
      listed.entries[e.name] = std::move(e);
    }
    if (page.eof) break;
    if (listed.pages > 100000) {
      ADD_FAILURE() << "the listing does not end";
      break;
    }
  }
  return listed;
}

class ReaddirTest : public RawNfsTest {
 protected:
  // ~2,500 entries of every kind, with names of every length modulo 4 and
  // some long enough to be shortened in the vault (.c9s).
  void Populate() {
    dir_fh_ = MakeDir(root_, "big");
    auto entry = server_->vault().ResolvePath("/big");
    ASSERT_TRUE(IsOk(entry));
    vaultcore::Vault& vault = server_->vault();
    for (int i = 0; i < kEntries; ++i) {
      std::string name = "entry-" + std::to_string(i) + std::string(i % 4, 'x');
      if (i % 250 == 7) name = std::string(200 + i % 50, 'L') + std::to_string(i);
      if (i % 500 == 3) {
        ASSERT_TRUE(IsOk(vault.MakeDirectory(entry->AsDir(), name, 0755)));
      } else if (i % 500 == 4) {
        ASSERT_TRUE(IsOk(vault.MakeSymlink(entry->AsDir(), name, "target")));
      } else {
        ASSERT_TRUE(IsOk(vault.CreateFile(entry->AsDir(), name, 0644)));
      }
      expected_.insert(name);
    }
    expected_.insert(".");
    expected_.insert("..");
  }

  static constexpr int kEntries = 2500;
  Fh dir_fh_;
  std::set<std::string> expected_;
};

TEST_F(ReaddirTest, EveryNameExactlyOnceWithinEveryBudget) {
  ASSERT_NO_FATAL_FAILURE(Populate());
  for (const uint32_t count : {512u, 1024u, 4096u, 65536u}) {
    SCOPED_TRACE("READDIR count " + std::to_string(count));
    Listed listed = ListAll(nfs(), dir_fh_, false, 0, count);
    EXPECT_EQ(listed.names.size(), expected_.size());
    EXPECT_EQ(std::set<std::string>(listed.names.begin(), listed.names.end()), expected_);
    ASSERT_GE(listed.names.size(), 2u);
    EXPECT_EQ(listed.names[0], ".");
    EXPECT_EQ(listed.names[1], "..");
    EXPECT_EQ(listed.entries["."].fileid, Attr(dir_fh_).fileid);
    EXPECT_EQ(listed.entries[".."].fileid, Attr(root_).fileid);
    if (count == 512) {
      EXPECT_GT(listed.pages, 100u);
    }
  }
  const std::pair<uint32_t, uint32_t> plus_budgets[] = {
      {512, 1024}, {1024, 4096}, {4096, 4096}, {65536, 8192}, {8192, 65536}, {512, 1 << 20}};
  for (const auto& [dircount, maxcount] : plus_budgets) {
    SCOPED_TRACE("READDIRPLUS dircount " + std::to_string(dircount) + " maxcount " +
                 std::to_string(maxcount));
    Listed listed = ListAll(nfs(), dir_fh_, true, dircount, maxcount);
    if (maxcount == 1 << 20) {
      EXPECT_EQ(listed.pages, 1u) << "a small dircount cut the page";
    }
    EXPECT_EQ(listed.names.size(), expected_.size());
    EXPECT_EQ(std::set<std::string>(listed.names.begin(), listed.names.end()), expected_);
    for (const auto& [name, e] : listed.entries) {
      EXPECT_TRUE(e.attr && e.fh) << name << " without attributes or handle";
    }
  }
}

TEST_F(ReaddirTest, CookiesResumeExactlyFromAnyEntry) {
  ASSERT_NO_FATAL_FAILURE(Populate());
  const Listed all = ListAll(nfs(), dir_fh_, false, 0, 1 << 20);
  ASSERT_EQ(all.names.size(), expected_.size());
  DirPage first = nfs().Readdir(dir_fh_, 0, 0, 65536);
  ASSERT_EQ(first.status, NFS3_OK);
  // Resuming after the k-th entry gives exactly the entries after it.
  for (const size_t k :
       {size_t{0}, size_t{1}, size_t{2}, size_t{100}, all.names.size() - 2, all.names.size() - 1}) {
    const uint64_t cookie = all.entries.at(all.names[k]).cookie;
    SCOPED_TRACE("after " + all.names[k]);
    DirPage page = nfs().Readdir(dir_fh_, cookie, first.verifier, 4096);
    ASSERT_EQ(page.status, NFS3_OK);
    const size_t left = all.names.size() - k - 1;
    if (left == 0) {
      EXPECT_TRUE(page.entries.empty());
      EXPECT_TRUE(page.eof);
      continue;
    }
    ASSERT_FALSE(page.entries.empty());
    for (size_t i = 0; i < page.entries.size(); ++i) {
      EXPECT_EQ(page.entries[i].name, all.names[k + 1 + i]);
    }
    DirPage plus = nfs().Readdirplus(dir_fh_, cookie, first.verifier, 4096, 16384);
    ASSERT_EQ(plus.status, NFS3_OK);
    ASSERT_FALSE(plus.entries.empty());
    EXPECT_EQ(plus.entries[0].name, all.names[k + 1]);
  }
}

TEST_F(ReaddirTest, ReaddirplusHandlesAndAttributesMatchGetattr) {
  ASSERT_NO_FATAL_FAILURE(Populate());
  const Listed listed = ListAll(nfs(), dir_fh_, true, 8192, 32768);
  ASSERT_EQ(listed.names.size(), expected_.size());
  size_t checked = 0;
  for (size_t i = 0; i < listed.names.size(); ++i) {
    const DirEntry& e = listed.entries.at(listed.names[i]);
    // Every directory and symlink, and a sample of the files.
    if (i % 23 != 0 && e.attr && e.attr->type == NF3REG) continue;
    SCOPED_TRACE(e.name);
    ASSERT_TRUE(e.fh);
    ASSERT_TRUE(e.attr);
    GETATTR3res res = nfs().Getattr(*e.fh);
    ASSERT_EQ(res.status, NFS3_OK);
    fattr3 fresh = res.GETATTR3res_u.resok.obj_attributes;
    fresh.atime = e.attr->atime;  // listing a directory moves its atime
    EXPECT_TRUE(SameAttr(*e.attr, fresh));
    EXPECT_EQ(e.fileid, e.attr->fileid);
    if (e.name != "." && e.name != "..") {
      LookupResult found = nfs().Lookup(dir_fh_, e.name);
      ASSERT_EQ(found.status, NFS3_OK);
      EXPECT_EQ(found.fh, *e.fh);
    }
    ++checked;
  }
  EXPECT_GT(checked, 100u);
  EXPECT_EQ(*listed.entries.at(".").fh, dir_fh_);
  EXPECT_EQ(*listed.entries.at("..").fh, root_);
}

// A listing made again from the cached one (handles made before,
// attributes as listed) says exactly what the first said; and a file's
// size includes data still in the write-back buffer, then and after COMMIT.
TEST_F(DirectoryTest, ReaddirplusAgainGivesTheSameEntriesAndBufferedSizes) {
  const Fh dir = MakeDir(root_, "again");
  for (const char* name : {"a", "b", "c"}) MakeFile(dir, name, "twelve bytes");
  const Fh sub = MakeDir(dir, "sub");
  // A directory changed within the last 100 ms is listed afresh every time
  // (node_table.cc, kRacyWindowNs); past that its listing is cached and
  // reused, which is what this test is about.
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  const Listed first = ListAll(nfs(), dir, true, 8192, 32768);
  const Listed second = ListAll(nfs(), dir, true, 8192, 32768);
  ASSERT_EQ(first.names, second.names);
  for (const std::string& name : first.names) {
    SCOPED_TRACE(name);
    const DirEntry& before = first.entries.at(name);
    const DirEntry& again = second.entries.at(name);
    ASSERT_TRUE(before.fh && again.fh && before.attr && again.attr);
    EXPECT_EQ(*again.fh, *before.fh);
    fattr3 attr = *again.attr;
    attr.atime = before.attr->atime;  // listing a directory moves its atime
    EXPECT_TRUE(SameAttr(attr, *before.attr));
    if (name != "." && name != "..") {
      LookupResult found = nfs().Lookup(dir, name);
      ASSERT_EQ(found.status, NFS3_OK);
      EXPECT_EQ(found.fh, *again.fh);
    }
  }
  EXPECT_EQ(*second.entries.at("sub").fh, sub);

  const Fh& b = *first.entries.at("b").fh;
  ASSERT_EQ(nfs().Write(b, 100, "past the end", UNSTABLE).status, NFS3_OK);
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE(round == 0 ? "buffered" : "committed");
    const Listed listed = ListAll(nfs(), dir, true, 8192, 32768);
    GETATTR3res got = nfs().Getattr(b);
    ASSERT_EQ(got.status, NFS3_OK);
    EXPECT_EQ(got.GETATTR3res_u.resok.obj_attributes.size, 112u);
    EXPECT_EQ(listed.entries.at("b").attr->size, 112u);
    EXPECT_EQ(listed.entries.at("a").attr->size, 12u);
    EXPECT_EQ(*listed.entries.at("b").fh, b);
    ASSERT_EQ(nfs().Commit(b).status, NFS3_OK);
  }
}

TEST_F(DirectoryTest, ReaddirOfSmallDirectoriesAndRoot) {
  // The root: "." and ".." are both the root.
  DirPage page = nfs().Readdirplus(root_, 0, 0, 4096, 8192);
  ASSERT_EQ(page.status, NFS3_OK);
  ASSERT_EQ(page.entries.size(), 2u);
  EXPECT_TRUE(page.eof);
  EXPECT_EQ(page.entries[0].name, ".");
  EXPECT_EQ(page.entries[1].name, "..");
  EXPECT_EQ(page.entries[0].fileid, page.entries[1].fileid);
  EXPECT_EQ(*page.entries[1].fh, root_);

  // An empty directory's listing ends at once; resuming at its end is an
  // empty page with eof.
  const Fh empty = MakeDir(root_, "empty");
  page = nfs().Readdir(empty, 0, 0, 4096);
  ASSERT_EQ(page.status, NFS3_OK);
  ASSERT_EQ(page.entries.size(), 2u);
  EXPECT_TRUE(page.eof);
  DirPage end = nfs().Readdir(empty, page.entries.back().cookie, page.verifier, 4096);
  ASSERT_EQ(end.status, NFS3_OK);
  EXPECT_TRUE(end.entries.empty());
  EXPECT_TRUE(end.eof);

  // A budget exactly large enough for "." alone.
  page = nfs().Readdir(empty, 0, 0, 4096);
  const size_t just_dot = page.encoded_size - 24 - 4;  // minus "..": fileid, name, cookie, follows
  DirPage one = nfs().Readdir(empty, 0, 0, static_cast<uint32_t>(just_dot));
  ASSERT_EQ(one.status, NFS3_OK);
  ASSERT_EQ(one.entries.size(), 1u);
  EXPECT_FALSE(one.eof);
  EXPECT_LE(one.encoded_size, just_dot);
}

// ---- FSSTAT, FSINFO, PATHCONF ----

TEST_F(DirectoryTest, FsstatReportsTheVaultsFileSystem) {
  const Fh file = MakeFile(root_, "f", "x");
  FSSTAT3res res = nfs().Fsstat(root_);
  ASSERT_EQ(res.status, NFS3_OK);
  const FSSTAT3resok& ok = res.FSSTAT3res_u.resok;
  struct statvfs fs {};
  ASSERT_EQ(statvfs(vault_path_.c_str(), &fs), 0);
  EXPECT_EQ(ok.tbytes, static_cast<uint64_t>(fs.f_blocks) * fs.f_frsize);
  EXPECT_EQ(ok.tfiles, fs.f_files);
  EXPECT_GT(ok.tbytes, 0u);
  EXPECT_LE(ok.fbytes, ok.tbytes);
  EXPECT_LE(ok.abytes, ok.fbytes);
  EXPECT_LE(ok.ffiles, ok.tfiles);
  EXPECT_LE(ok.afiles, ok.ffiles);
  EXPECT_TRUE(ok.obj_attributes.attributes_follow);
  // Any handle of the export will do.
  EXPECT_EQ(nfs().Fsstat(file).status, NFS3_OK);
}

TEST_F(DirectoryTest, FsinfoAdvertisesOneMebibyteTransfersAndMaxFileSize) {
  FSINFO3res res = nfs().Fsinfo(root_);
  ASSERT_EQ(res.status, NFS3_OK);
  const FSINFO3resok& ok = res.FSINFO3res_u.resok;
  EXPECT_EQ(ok.rtmax, 1u << 20);
  EXPECT_EQ(ok.wtmax, 1u << 20);
  EXPECT_LE(ok.rtpref, ok.rtmax);
  EXPECT_LE(ok.wtpref, ok.wtmax);
  EXPECT_GT(ok.rtmult, 0u);
  EXPECT_GT(ok.wtmult, 0u);
  EXPECT_GT(ok.dtpref, 0u);
  EXPECT_EQ(ok.maxfilesize, uint64_t{1} << 44);
  EXPECT_EQ(ok.time_delta.seconds, 0u);
  EXPECT_EQ(ok.time_delta.nseconds, 1u);
  EXPECT_EQ(ok.properties & FSF3_LINK, 0u);  // no hard links
  EXPECT_NE(ok.properties & FSF3_SYMLINK, 0u);
  EXPECT_NE(ok.properties & FSF3_HOMOGENEOUS, 0u);
  EXPECT_NE(ok.properties & FSF3_CANSETTIME, 0u);
  EXPECT_TRUE(ok.obj_attributes.attributes_follow);
}

TEST_F(DirectoryTest, PathconfNameMaxAgreesWithNameTooLong) {
  const Fh dir = MakeDir(root_, "d");
  PATHCONF3res res = nfs().Pathconf(dir);
  ASSERT_EQ(res.status, NFS3_OK);
  const PATHCONF3resok& ok = res.PATHCONF3res_u.resok;
  EXPECT_EQ(ok.name_max, 255u);
  EXPECT_EQ(ok.linkmax, 1u);
  EXPECT_TRUE(ok.no_trunc);
  EXPECT_TRUE(ok.chown_restricted);
  EXPECT_FALSE(ok.case_insensitive);
  EXPECT_TRUE(ok.case_preserving);
  // Exactly name_max works; one more is refused, not cut.
  const std::string longest(ok.name_max, 'n');
  EXPECT_EQ(nfs().Create(dir, longest, GUARDED).status, NFS3_OK);
  EXPECT_EQ(nfs().Lookup(dir, longest).status, NFS3_OK);
  EXPECT_EQ(nfs().Create(dir, longest + "n", GUARDED).status, NFS3ERR_NAMETOOLONG);
  EXPECT_EQ(nfs().Lookup(dir, longest.substr(1)).status, NFS3ERR_NOENT);
}

// ---- MOUNT ----

TEST_F(DirectoryTest, MntOfRootAndOfASubdirectory) {
  MountResult root = nfs().Mnt("/");
  ASSERT_EQ(root.status, MNT3_OK);
  EXPECT_EQ(root.fh, root_);
  EXPECT_EQ(root.flavors, std::vector<int>{AUTH_UNIX});
  EXPECT_EQ(Attr(root.fh).type, NF3DIR);

  const Fh sub = MakeDir(root_, "sub");
  const Fh deeper = MakeDir(sub, "deeper");
  MakeFile(sub, "inside", "in sub");
  MountResult mounted = nfs().Mnt("/sub");
  ASSERT_EQ(mounted.status, MNT3_OK);
  EXPECT_EQ(mounted.fh, sub);
  EXPECT_EQ(nfs().Mnt("/sub/deeper").fh, deeper);
  EXPECT_EQ(nfs().Mnt("/sub/").fh, sub);

  // A client that mounts the subdirectory sees only it.
  NfsClient sub_client(*server_, "/sub");
  ASSERT_TRUE(sub_client.ok()) << sub_client.error();
  nfsdir* dir = nullptr;
  ASSERT_EQ(nfs_opendir(sub_client.get(), "/", &dir), 0) << sub_client.error();
  std::set<std::string> names;
  while (nfsdirent* e = nfs_readdir(sub_client.get(), dir)) names.insert(e->name);
  nfs_closedir(sub_client.get(), dir);
  EXPECT_EQ(names, (std::set<std::string>{".", "..", "deeper", "inside"}));
  std::string content;
  ASSERT_EQ(sub_client.ReadFile("/inside", &content), 0) << sub_client.error();
  EXPECT_EQ(content, "in sub");

  MakeFile(root_, "file", "x");
  EXPECT_EQ(nfs().Mnt("/missing").status, MNT3ERR_NOENT);
  EXPECT_EQ(nfs().Mnt("/sub/missing/deeper").status, MNT3ERR_NOENT);
  EXPECT_EQ(nfs().Mnt("/file").status, MNT3ERR_NOTDIR);
}

TEST_F(DirectoryTest, DumpUmntUmntallAndExport) {
  MakeDir(root_, "sub");
  ASSERT_EQ(nfs().Mnt("/sub").status, MNT3_OK);
  auto mounts = nfs().Dump();
  const std::pair<std::string, std::string> root_mount{"127.0.0.1", "/"};
  const std::pair<std::string, std::string> sub_mount{"127.0.0.1", "/sub"};
  EXPECT_NE(std::find(mounts.begin(), mounts.end(), root_mount), mounts.end());
  EXPECT_NE(std::find(mounts.begin(), mounts.end(), sub_mount), mounts.end());
  // Mounting twice is recorded once.
  ASSERT_EQ(nfs().Mnt("/sub").status, MNT3_OK);
  mounts = nfs().Dump();
  EXPECT_EQ(std::count(mounts.begin(), mounts.end(), sub_mount), 1);

  ASSERT_TRUE(nfs().Umnt("/sub")) << nfs().error();
  mounts = nfs().Dump();
  EXPECT_EQ(std::find(mounts.begin(), mounts.end(), sub_mount), mounts.end());
  EXPECT_NE(std::find(mounts.begin(), mounts.end(), root_mount), mounts.end());
  // UMNT of something never mounted is fine.
  EXPECT_TRUE(nfs().Umnt("/never")) << nfs().error();

  ASSERT_EQ(nfs().Mnt("/sub").status, MNT3_OK);
  ASSERT_TRUE(nfs().Umntall()) << nfs().error();
  EXPECT_TRUE(nfs().Dump().empty());

  const auto exports = nfs().Export();
  ASSERT_EQ(exports.size(), 1u);
  EXPECT_EQ(exports[0].first, "/");
  EXPECT_TRUE(exports[0].second.empty());

  // The handles stay valid: MOUNT's list is advisory.
  EXPECT_EQ(Attr(root_).type, NF3DIR);
}

}  // namespace
}  // namespace vaultnfs::testing
