// The NFSv3 procedures driven through libnfs-raw against an in-process
// server, with the replies checked field by field against RFC 1813:
// attributes, wcc_data, READ/WRITE counts and eof, write verifiers, the
// three CREATE modes, RENAME's cases. READDIR/READDIRPLUS, FSSTAT, FSINFO,
// PATHCONF and MOUNT are in nfs_directory_test.cc, the error statuses in
// nfs_errors_test.cc.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <set>
#include <string>

#include "tests/nfs_raw.h"

namespace vaultnfs::testing {
namespace {

using ProceduresTest = RawNfsTest;

// Both halves of wcc_data present; before as GETATTR saw the object before
// the change, after as GETATTR sees it now (atime aside: reading a
// directory moves it).
::testing::AssertionResult WccMatches(const wcc_data& wcc, const fattr3& before,
                                      const fattr3& after) {
  if (wcc.before.attributes_follow == 0) return ::testing::AssertionFailure() << "no pre_op_attr";
  if (wcc.after.attributes_follow == 0) return ::testing::AssertionFailure() << "no post_op_attr";
  const wcc_attr& pre = wcc.before.pre_op_attr_u.attributes;
  if (pre.size != before.size || pre.mtime.seconds != before.mtime.seconds ||
      pre.mtime.nseconds != before.mtime.nseconds || pre.ctime.seconds != before.ctime.seconds ||
      pre.ctime.nseconds != before.ctime.nseconds) {
    return ::testing::AssertionFailure()
           << "pre_op_attr size " << pre.size << " mtime " << pre.mtime.seconds << "."
           << pre.mtime.nseconds << " ctime " << pre.ctime.seconds << "." << pre.ctime.nseconds
           << ", GETATTR before had size " << before.size << " mtime " << before.mtime.seconds
           << "." << before.mtime.nseconds << " ctime " << before.ctime.seconds << "."
           << before.ctime.nseconds;
  }
  fattr3 post = wcc.after.post_op_attr_u.attributes;
  post.atime = after.atime;
  return SameAttr(post, after);
}

std::string Pattern(size_t size, int seed) {
  std::string s(size, '\0');
  for (size_t i = 0; i < size; ++i) s[i] = static_cast<char>(i * 131 + i / 997 + seed);
  return s;
}

uint32_t OwnerUid() { return getuid(); }
uint32_t OwnerGid() { return getgid(); }

TEST_F(ProceduresTest, NullAnswersOnBothPrograms) {
  EXPECT_TRUE(nfs().Null()) << nfs().error();
  EXPECT_TRUE(nfs().MountNull()) << nfs().error();
}

// The server's report by procedure (SIGUSR1, and when it stops): each call
// counted once under its own procedure, a failure only where the status
// says so. DUMP's and EXPORT's results start with a non-zero "value
// follows", which is no error.
TEST_F(ProceduresTest, ServerCountsCallsAndFailuresByProcedure) {
  MakeFile(root_, "present", "x");
  using Counts = std::pair<uint64_t, uint64_t>;  // calls, failed
  const auto count = [&](std::string_view name) {
    const auto rows = server_->procedure_stats().Snapshot();
    const auto row =
        std::find_if(rows.begin(), rows.end(), [&](const auto& r) { return r.name == name; });
    return row == rows.end() ? Counts{0, 0} : Counts{row->calls, row->failed};
  };
  const Counts lookups = count("LOOKUP");
  const Counts getattrs = count("GETATTR");
  const Counts mounts = count("MNT");
  const Counts dumps = count("DUMP");
  const Counts exports = count("EXPORT");
  ASSERT_GE(mounts.first, 1u);
  EXPECT_EQ(mounts.second, 0u);

  EXPECT_EQ(nfs().Lookup(root_, "absent").status, NFS3ERR_NOENT);
  EXPECT_EQ(nfs().Lookup(root_, "present").status, NFS3_OK);
  EXPECT_EQ(nfs().Lookup(root_, "absent").status, NFS3ERR_NOENT);
  EXPECT_EQ(nfs().Getattr(root_).status, NFS3_OK);
  EXPECT_FALSE(nfs().Dump().empty());
  EXPECT_FALSE(nfs().Export().empty());
  EXPECT_EQ(nfs().Mnt("/no/such/export").status, MNT3ERR_NOENT);

  EXPECT_EQ(count("LOOKUP"), (Counts{lookups.first + 3, lookups.second + 2}));
  EXPECT_EQ(count("GETATTR"), (Counts{getattrs.first + 1, getattrs.second}));
  EXPECT_EQ(count("DUMP"), (Counts{dumps.first + 1, dumps.second}));
  EXPECT_EQ(count("EXPORT"), (Counts{exports.first + 1, exports.second}));
  EXPECT_EQ(count("MNT"), (Counts{mounts.first + 1, 1}));
}

TEST_F(ProceduresTest, GetattrDescribesRootFileDirectoryAndSymlink) {
  const Fh file = MakeFile(root_, "f", "12345", 0640);
  const Fh dir = MakeDir(root_, "d", 0750);
  const NewObject link = nfs().Symlink(root_, "l", "f");
  ASSERT_EQ(link.status, NFS3_OK);

  const fattr3 r = Attr(root_);
  EXPECT_EQ(r.type, NF3DIR);
  EXPECT_EQ(r.uid, OwnerUid());
  EXPECT_EQ(r.gid, OwnerGid());
  EXPECT_NE(r.fileid, 0u);

  const fattr3 f = Attr(file);
  EXPECT_EQ(f.type, NF3REG);
  EXPECT_EQ(f.mode, 0640u);
  EXPECT_EQ(f.nlink, 1u);
  EXPECT_EQ(f.size, 5u);
  EXPECT_EQ(f.uid, OwnerUid());
  EXPECT_EQ(f.gid, OwnerGid());
  EXPECT_EQ(f.rdev.specdata1, 0u);
  EXPECT_EQ(f.fsid, r.fsid);

  const fattr3 d = Attr(dir);
  EXPECT_EQ(d.type, NF3DIR);
  EXPECT_EQ(d.mode, 0750u);
  EXPECT_EQ(d.fsid, r.fsid);

  const fattr3 l = Attr(*link.fh);
  EXPECT_EQ(l.type, NF3LNK);
  EXPECT_EQ(l.size, 1u);  // the target's length, as lstat(2) has it

  // Distinct, stable fileids.
  EXPECT_EQ(std::set<uint64_t>({r.fileid, f.fileid, d.fileid, l.fileid}).size(), 4u);
  EXPECT_EQ(Attr(file).fileid, f.fileid);
}

TEST_F(ProceduresTest, SetattrTruncatesAndGrowsWithZeros) {
  const Fh file = MakeFile(root_, "f", "hello world");
  fattr3 before = Attr(file);
  SETATTR3res res = nfs().Setattr(file, Sattr().Size(5));
  ASSERT_EQ(res.status, NFS3_OK);
  EXPECT_TRUE(WccMatches(res.SETATTR3res_u.resok.obj_wcc, before, Attr(file)));
  EXPECT_EQ(res.SETATTR3res_u.resok.obj_wcc.after.post_op_attr_u.attributes.size, 5u);
  EXPECT_EQ(Content(file), "hello");

  // Across several chunks: the gap reads as zeros.
  before = Attr(file);
  res = nfs().Setattr(file, Sattr().Size(100000));
  ASSERT_EQ(res.status, NFS3_OK);
  EXPECT_TRUE(WccMatches(res.SETATTR3res_u.resok.obj_wcc, before, Attr(file)));
  EXPECT_EQ(Attr(file).size, 100000u);
  EXPECT_EQ(Content(file), "hello" + std::string(100000 - 5, '\0'));

  // Back to nothing, and the same size again is a no-op.
  ASSERT_EQ(nfs().Setattr(file, Sattr().Size(0)).status, NFS3_OK);
  ASSERT_EQ(nfs().Setattr(file, Sattr().Size(0)).status, NFS3_OK);
  EXPECT_EQ(Attr(file).size, 0u);
  EXPECT_EQ(Content(file), "");
}

TEST_F(ProceduresTest, SetattrModeAndTimes) {
  const Fh file = MakeFile(root_, "f", "x");
  const Fh dir = MakeDir(root_, "d");

  fattr3 before = Attr(file);
  SETATTR3res res = nfs().Setattr(file, Sattr().Mode(0600));
  ASSERT_EQ(res.status, NFS3_OK);
  EXPECT_TRUE(WccMatches(res.SETATTR3res_u.resok.obj_wcc, before, Attr(file)));
  EXPECT_EQ(Attr(file).mode, 0600u);
  ASSERT_EQ(nfs().Setattr(file, Sattr().Mode(04755)).status, NFS3_OK);
  EXPECT_EQ(Attr(file).mode, 04755u);
  ASSERT_EQ(nfs().Setattr(dir, Sattr().Mode(0700)).status, NFS3_OK);
  EXPECT_EQ(Attr(dir).mode, 0700u);

  // Client times exactly, to the nanosecond.
  const nfstime3 atime{1000000000, 123456789};
  const nfstime3 mtime{1100000000, 987654321};
  before = Attr(file);
  res = nfs().Setattr(file, Sattr().Atime(atime).Mtime(mtime));
  ASSERT_EQ(res.status, NFS3_OK);
  fattr3 after = Attr(file);
  EXPECT_TRUE(WccMatches(res.SETATTR3res_u.resok.obj_wcc, before, after));
  EXPECT_EQ(after.atime.seconds, atime.seconds);
  EXPECT_EQ(after.atime.nseconds, atime.nseconds);
  EXPECT_EQ(after.mtime.seconds, mtime.seconds);
  EXPECT_EQ(after.mtime.nseconds, mtime.nseconds);
  EXPECT_EQ(after.size, 1u);

  // Server time: now.
  ASSERT_EQ(nfs().Setattr(file, Sattr().AtimeNow().MtimeNow()).status, NFS3_OK);
  after = Attr(file);
  const auto now = static_cast<int64_t>(time(nullptr));
  EXPECT_LE(std::abs(static_cast<int64_t>(after.mtime.seconds) - now), 5);
  EXPECT_LE(std::abs(static_cast<int64_t>(after.atime.seconds) - now), 5);

  // Times of a directory.
  ASSERT_EQ(nfs().Setattr(dir, Sattr().Mtime(mtime)).status, NFS3_OK);
  EXPECT_EQ(Attr(dir).mtime.seconds, mtime.seconds);
}

TEST_F(ProceduresTest, SetattrGuardMismatchIsNotSync) {
  const Fh file = MakeFile(root_, "f", "abc");
  const fattr3 before = Attr(file);
  nfstime3 stale = before.ctime;
  stale.seconds -= 10;
  SETATTR3res res = nfs().Setattr(file, Sattr().Size(0), stale);
  EXPECT_EQ(res.status, NFS3ERR_NOT_SYNC);
  EXPECT_TRUE(WccMatches(res.SETATTR3res_u.resfail.obj_wcc, before, Attr(file)));
  EXPECT_EQ(Attr(file).size, 3u);

  res = nfs().Setattr(file, Sattr().Size(1), before.ctime);
  EXPECT_EQ(res.status, NFS3_OK);
  EXPECT_EQ(Content(file), "a");
}

TEST_F(ProceduresTest, SetattrOwnerOnlyToWhatItIs) {
  const Fh file = MakeFile(root_, "f", "abc");
  EXPECT_EQ(nfs().Setattr(file, Sattr().Uid(OwnerUid()).Gid(OwnerGid())).status, NFS3_OK);
  const fattr3 before = Attr(file);
  SETATTR3res res = nfs().Setattr(file, Sattr().Uid(OwnerUid() + 1));
  EXPECT_EQ(res.status, NFS3ERR_PERM);
  EXPECT_TRUE(WccMatches(res.SETATTR3res_u.resfail.obj_wcc, before, Attr(file)));
  EXPECT_EQ(nfs().Setattr(file, Sattr().Gid(OwnerGid() + 1)).status, NFS3ERR_PERM);
  // Nothing of a refused SETATTR is applied, not even the mode.
  EXPECT_EQ(nfs().Setattr(file, Sattr().Mode(0600).Uid(OwnerUid() + 1)).status, NFS3ERR_PERM);
  EXPECT_EQ(Attr(file).mode, before.mode);
}

TEST_F(ProceduresTest, LookupDotDotDotAndRootsParent) {
  const Fh sub = MakeDir(root_, "sub");
  const Fh file = MakeFile(sub, "f", "data");

  LookupResult dot = nfs().Lookup(sub, ".");
  ASSERT_EQ(dot.status, NFS3_OK);
  EXPECT_EQ(dot.fh, sub);
  ASSERT_TRUE(dot.attr);
  EXPECT_EQ(dot.attr->fileid, Attr(sub).fileid);

  LookupResult up = nfs().Lookup(sub, "..");
  ASSERT_EQ(up.status, NFS3_OK);
  EXPECT_EQ(up.fh, root_);
  ASSERT_TRUE(up.attr);
  EXPECT_EQ(up.attr->fileid, Attr(root_).fileid);

  LookupResult root_up = nfs().Lookup(root_, "..");
  ASSERT_EQ(root_up.status, NFS3_OK);
  EXPECT_EQ(root_up.fh, root_);
  LookupResult root_dot = nfs().Lookup(root_, ".");
  ASSERT_EQ(root_dot.status, NFS3_OK);
  EXPECT_EQ(root_dot.fh, root_);

  LookupResult found = nfs().Lookup(sub, "f");
  ASSERT_EQ(found.status, NFS3_OK);
  EXPECT_EQ(found.fh, file);
  ASSERT_TRUE(found.attr);
  fattr3 now = Attr(file);
  now.atime = found.attr->atime;  // see ServerReadsDoNotMoveAtime
  EXPECT_TRUE(SameAttr(*found.attr, now));
  ASSERT_TRUE(found.dir_attr);
  EXPECT_EQ(found.dir_attr->fileid, Attr(sub).fileid);

  // A miss still carries the directory's attributes.
  LookupResult missing = nfs().Lookup(sub, "nope");
  EXPECT_EQ(missing.status, NFS3ERR_NOENT);
  ASSERT_TRUE(missing.dir_attr);
  EXPECT_EQ(missing.dir_attr->fileid, Attr(sub).fileid);
}

TEST_F(ProceduresTest, AccessForRoot) {
  ASSERT_EQ(getuid(), 0u) << "libnfs calls as this process's uid; these bits are root's";
  constexpr uint32_t kAll = ACCESS3_READ | ACCESS3_LOOKUP | ACCESS3_MODIFY | ACCESS3_EXTEND |
                            ACCESS3_DELETE | ACCESS3_EXECUTE;
  const Fh readonly = MakeFile(root_, "r", "x", 0444);
  const Fh script = MakeFile(root_, "x", "x", 0744);
  const Fh none = MakeFile(root_, "n", "x", 0000);
  const Fh dir = MakeDir(root_, "d", 0755);
  const Fh closed = MakeDir(root_, "c", 0000);

  auto granted = [&](const Fh& fh, uint32_t asked) {
    ACCESS3res res = nfs().Access(fh, asked);
    EXPECT_EQ(res.status, NFS3_OK);
    EXPECT_TRUE(res.ACCESS3res_u.resok.obj_attributes.attributes_follow);
    return res.ACCESS3res_u.resok.access;
  };
  // Root reads and writes any file, and executes one anybody may execute;
  // LOOKUP and DELETE mean nothing for a file.
  EXPECT_EQ(granted(readonly, kAll), ACCESS3_READ | ACCESS3_MODIFY | ACCESS3_EXTEND);
  EXPECT_EQ(granted(none, kAll), ACCESS3_READ | ACCESS3_MODIFY | ACCESS3_EXTEND);
  EXPECT_EQ(granted(script, kAll),
            ACCESS3_READ | ACCESS3_MODIFY | ACCESS3_EXTEND | ACCESS3_EXECUTE);
  // Root may do everything in any directory; EXECUTE means nothing there.
  const uint32_t dir_bits =
      ACCESS3_READ | ACCESS3_LOOKUP | ACCESS3_MODIFY | ACCESS3_EXTEND | ACCESS3_DELETE;
  EXPECT_EQ(granted(dir, kAll), dir_bits);
  EXPECT_EQ(granted(closed, kAll), dir_bits);
  EXPECT_EQ(granted(root_, kAll), dir_bits);
  // Only what was asked is answered.
  EXPECT_EQ(granted(readonly, ACCESS3_READ), ACCESS3_READ);
  EXPECT_EQ(granted(readonly, ACCESS3_EXECUTE), 0u);
  EXPECT_EQ(granted(dir, ACCESS3_LOOKUP | ACCESS3_EXECUTE), ACCESS3_LOOKUP);
  EXPECT_EQ(granted(dir, 0), 0u);
}

// The owner (and any --allow-uid) gets what the owner bits say.
TEST_F(ProceduresTest, AccessForTheOwnerFollowsTheOwnerBits) {
  constexpr uint32_t kOwner = 4242;
  TestServerOptions options = Options();
  options.owner_uid = kOwner;
  StartServer(options);
  const Fh readonly = MakeFile(root_, "r", "x", 0444);
  const Fh script = MakeFile(root_, "x", "x", 0500);
  const Fh none = MakeFile(root_, "n", "x", 0077);  // group and others only
  const Fh dir = MakeDir(root_, "d", 0755);
  const Fh listable = MakeDir(root_, "l", 0500);
  EXPECT_EQ(Attr(readonly).uid, kOwner);
  rpc_set_uid(client_->raw(), kOwner);

  constexpr uint32_t kAll = ACCESS3_READ | ACCESS3_LOOKUP | ACCESS3_MODIFY | ACCESS3_EXTEND |
                            ACCESS3_DELETE | ACCESS3_EXECUTE;
  auto granted = [&](const Fh& fh) {
    ACCESS3res res = nfs().Access(fh, kAll);
    EXPECT_EQ(res.status, NFS3_OK);
    return res.ACCESS3res_u.resok.access;
  };
  EXPECT_EQ(granted(readonly), uint32_t{ACCESS3_READ});
  EXPECT_EQ(granted(script), uint32_t{ACCESS3_READ | ACCESS3_EXECUTE});
  EXPECT_EQ(granted(none), 0u);
  EXPECT_EQ(granted(dir), uint32_t{ACCESS3_READ | ACCESS3_LOOKUP | ACCESS3_MODIFY | ACCESS3_EXTEND |
                                   ACCESS3_DELETE});
  EXPECT_EQ(granted(listable), uint32_t{ACCESS3_READ | ACCESS3_LOOKUP});

  // Anyone else gets ACCES for the call itself, whatever the bits.
  rpc_set_uid(client_->raw(), kOwner + 1);
  EXPECT_EQ(nfs().Access(dir, kAll).status, NFS3ERR_ACCES);
  rpc_set_uid(client_->raw(), 0);
}

// A new object's initial attributes: the mode as asked, whatever this
// process's umask; the owner is the export's, whoever the client names
// (a macOS client sends its caller's uid and gid; the vault has no owners).
TEST_F(ProceduresTest, CreationTakesTheModeAndShowsTheExportsOwner) {
  const auto foreign = Sattr().Mode(0751).Uid(OwnerUid() + 7).Gid(OwnerGid() + 7);
  for (const createmode3 mode : {UNCHECKED, GUARDED}) {
    const std::string name = mode == UNCHECKED ? "unchecked" : "guarded";
    NewObject made = nfs().Create(root_, name, mode, foreign);
    ASSERT_EQ(made.status, NFS3_OK) << name;
    ASSERT_TRUE(made.attr);
    EXPECT_EQ(made.attr->mode, 0751u);
    EXPECT_EQ(made.attr->uid, OwnerUid());
    EXPECT_EQ(made.attr->gid, OwnerGid());
  }
  NewObject dir = nfs().Mkdir(root_, "dir", foreign);
  ASSERT_EQ(dir.status, NFS3_OK);
  EXPECT_EQ(dir.attr->mode, 0751u);
  EXPECT_EQ(dir.attr->uid, OwnerUid());
  // Mode 0 and the set-id bits are taken as asked too.
  EXPECT_EQ(nfs().Create(root_, "zero", GUARDED, Sattr().Mode(0)).attr->mode, 0u);
  EXPECT_EQ(nfs().Mkdir(root_, "sticky", Sattr().Mode(01777)).attr->mode, 01777u);
  // No mode at all: the defaults.
  EXPECT_EQ(nfs().Create(root_, "default", GUARDED).attr->mode, 0644u);
  EXPECT_EQ(nfs().Mkdir(root_, "default-dir").attr->mode, 0755u);
  // Initial times as asked.
  const nfstime3 t{1300000000, 77};
  NewObject timed = nfs().Create(root_, "timed", GUARDED, Sattr().Mtime(t));
  ASSERT_EQ(timed.status, NFS3_OK);
  EXPECT_EQ(timed.attr->mtime.seconds, t.seconds);
  EXPECT_EQ(timed.attr->mtime.nseconds, t.nseconds);
}

TEST_F(ProceduresTest, SymlinkAndReadlink) {
  const Fh before_dir = root_;
  const fattr3 dir_before = Attr(root_);
  const std::string target = "../elsewhere/with spaces/and-\xc3\xa9";
  NewObject link = nfs().Symlink(root_, "link", target);
  ASSERT_EQ(link.status, NFS3_OK);
  ASSERT_TRUE(link.fh);
  ASSERT_TRUE(link.attr);
  EXPECT_EQ(link.attr->type, NF3LNK);
  EXPECT_EQ(link.attr->size, target.size());
  EXPECT_TRUE(WccMatches(link.dir_wcc, dir_before, Attr(root_)));

  ReadlinkResult read = nfs().Readlink(*link.fh);
  ASSERT_EQ(read.status, NFS3_OK);
  EXPECT_EQ(read.target, target);
  ASSERT_TRUE(read.attr);
  EXPECT_EQ(read.attr->type, NF3LNK);

  LookupResult found = nfs().Lookup(root_, "link");
  ASSERT_EQ(found.status, NFS3_OK);
  EXPECT_EQ(found.fh, *link.fh);

  // A long target (as long as libnfs sends), and an absolute one.
  const std::string long_target = "/" + std::string(1000, 'a');
  NewObject long_link = nfs().Symlink(root_, "long", long_target);
  ASSERT_EQ(long_link.status, NFS3_OK);
  EXPECT_EQ(nfs().Readlink(*long_link.fh).target, long_target);

  // READLINK of anything else is INVAL.
  const Fh file = MakeFile(root_, "f", "x");
  EXPECT_EQ(nfs().Readlink(file).status, NFS3ERR_INVAL);
  EXPECT_EQ(nfs().Readlink(root_).status, NFS3ERR_INVAL);
}

TEST_F(ProceduresTest, ReadReturnsExactlyWhatIsThereWithEof) {
  const std::string content = Pattern(100000, 1);
  const Fh file = MakeFile(root_, "f", content);
  struct Case {
    uint64_t offset;
    uint32_t count;
    size_t expect;
    bool eof;
  };
  const Case cases[] = {
      {0, 1000, 1000, false},        {0, 0, 0, false},
      {32768 - 10, 20, 20, false},   {99000, 1000, 1000, true},
      {99500, 1000, 500, true},      {99999, 1, 1, true},
      {100000, 10, 0, true},         {100000, 0, 0, true},
      {200000, 10, 0, true},         {uint64_t{1} << 62, 10, 0, true},
      {UINT64_MAX - 5, 10, 0, true}, {0, 100000, 100000, true},
      {0, 100001, 100000, true},     {12345, 65536, 65536, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE("offset " + std::to_string(c.offset) + " count " + std::to_string(c.count));
    ReadResult read = nfs().Read(file, c.offset, c.count);
    ASSERT_EQ(read.status, NFS3_OK);
    EXPECT_EQ(read.count, c.expect);
    EXPECT_EQ(read.data.size(), c.expect);
    EXPECT_EQ(read.eof, c.eof);
    if (c.expect > 0) {
      EXPECT_TRUE(read.data == content.substr(c.offset, c.expect));
    }
    ASSERT_TRUE(read.attr);
    EXPECT_EQ(read.attr->size, content.size());
  }
  // An empty file: eof at once.
  const Fh empty = MakeFile(root_, "e");
  ReadResult read = nfs().Read(empty, 0, 4096);
  ASSERT_EQ(read.status, NFS3_OK);
  EXPECT_EQ(read.count, 0u);
  EXPECT_TRUE(read.eof);
}

TEST_F(ProceduresTest, ReadOfOneMebibyteAndCountClampedToRtmax) {
  const std::string content = Pattern((5 << 20) / 2, 7);  // 2.5 MiB
  const Fh file = MakeFile(root_, "big", content);
  ReadResult read = nfs().Read(file, 0, 1 << 20);
  ASSERT_EQ(read.status, NFS3_OK);
  EXPECT_EQ(read.count, 1u << 20);
  EXPECT_FALSE(read.eof);
  EXPECT_TRUE(read.data == content.substr(0, 1 << 20));

  // More than rtmax: at most rtmax comes back, and it is still exact.
  read = nfs().Read(file, 1000, 4 << 20);
  ASSERT_EQ(read.status, NFS3_OK);
  EXPECT_EQ(read.count, 1u << 20);
  EXPECT_FALSE(read.eof);
  EXPECT_TRUE(read.data == content.substr(1000, 1 << 20));

  read = nfs().Read(file, 2 << 20, UINT32_MAX);
  ASSERT_EQ(read.status, NFS3_OK);
  EXPECT_EQ(read.count, content.size() - (2 << 20));
  EXPECT_TRUE(read.eof);
  EXPECT_TRUE(read.data == content.substr(2 << 20));
}

TEST_F(ProceduresTest, WriteStabilityVerifierAndImmediateVisibility) {
  NewObject made = nfs().Create(root_, "f", GUARDED);
  ASSERT_EQ(made.status, NFS3_OK);
  const Fh file = *made.fh;

  fattr3 before = Attr(file);
  WRITE3res res = nfs().Write(file, 0, "unstable data", UNSTABLE);
  ASSERT_EQ(res.status, NFS3_OK);
  const WRITE3resok& ok = res.WRITE3res_u.resok;
  EXPECT_EQ(ok.count, 13u);
  EXPECT_EQ(ok.committed, UNSTABLE);
  const Verifier verifier = VerifierOf(ok.verf);
  EXPECT_TRUE(WccMatches(ok.file_wcc, before, Attr(file)));
  EXPECT_EQ(ok.file_wcc.after.post_op_attr_u.attributes.size, 13u);
  // Visible before any COMMIT.
  EXPECT_EQ(Attr(file).size, 13u);
  EXPECT_EQ(Content(file), "unstable data");

  // Past the end, across a chunk boundary: the gap is zeros.
  before = Attr(file);
  res = nfs().Write(file, 40000, "far", UNSTABLE);
  ASSERT_EQ(res.status, NFS3_OK);
  EXPECT_TRUE(WccMatches(res.WRITE3res_u.resok.file_wcc, before, Attr(file)));
  EXPECT_EQ(VerifierOf(res.WRITE3res_u.resok.verf), verifier);
  EXPECT_EQ(Attr(file).size, 40003u);
  EXPECT_EQ(Content(file), "unstable data" + std::string(40000 - 13, '\0') + "far");

  res = nfs().Write(file, 2, "SYNC", FILE_SYNC);
  ASSERT_EQ(res.status, NFS3_OK);
  EXPECT_EQ(res.WRITE3res_u.resok.committed, FILE_SYNC);
  EXPECT_EQ(res.WRITE3res_u.resok.count, 4u);
  EXPECT_EQ(VerifierOf(res.WRITE3res_u.resok.verf), verifier);
  // DATA_SYNC may be answered with more than asked.
  res = nfs().Write(file, 0, "DS", DATA_SYNC);
  ASSERT_EQ(res.status, NFS3_OK);
  EXPECT_GE(res.WRITE3res_u.resok.committed, DATA_SYNC);
  EXPECT_EQ(Content(file).substr(0, 13), "DSSYNCle data");

  // A zero-byte write is fine and changes nothing.
  res = nfs().Write(file, 5, "", UNSTABLE);
  ASSERT_EQ(res.status, NFS3_OK);
  EXPECT_EQ(res.WRITE3res_u.resok.count, 0u);
  EXPECT_EQ(Attr(file).size, 40003u);

  before = Attr(file);
  COMMIT3res commit = nfs().Commit(file, 0, 0);
  ASSERT_EQ(commit.status, NFS3_OK);
  EXPECT_EQ(VerifierOf(commit.COMMIT3res_u.resok.verf), verifier);
  EXPECT_TRUE(WccMatches(commit.COMMIT3res_u.resok.file_wcc, before, Attr(file)));
  // The committed data is in the vault, as another reader sees it.
  auto entry = server_->vault().ResolvePath("/f");
  ASSERT_TRUE(IsOk(entry));
  EXPECT_EQ(entry->attr.size, 40003u);
}

TEST_F(ProceduresTest, WriteVerifierChangesWhenTheServerRestarts) {
  const Fh file = MakeFile(root_, "f");
  WRITE3res res = nfs().Write(file, 0, "before restart", UNSTABLE);
  ASSERT_EQ(res.status, NFS3_OK);
  const Verifier first = VerifierOf(res.WRITE3res_u.resok.verf);
  COMMIT3res commit = nfs().Commit(file);
  ASSERT_EQ(commit.status, NFS3_OK);
  EXPECT_EQ(VerifierOf(commit.COMMIT3res_u.resok.verf), first);

  raw_.reset();
  client_.reset();
  server_->Restart();
  Connect();
  // The handle outlives the process.
  res = nfs().Write(file, 0, "after", UNSTABLE);
  ASSERT_EQ(res.status, NFS3_OK);
  const Verifier second = VerifierOf(res.WRITE3res_u.resok.verf);
  EXPECT_NE(second, first);
  commit = nfs().Commit(file);
  ASSERT_EQ(commit.status, NFS3_OK);
  EXPECT_EQ(VerifierOf(commit.COMMIT3res_u.resok.verf), second);
  EXPECT_EQ(Content(file), "aftere restart");
}

// UNSTABLE data still in the write-back buffer meets every other change:
// SETATTR size and times, REMOVE, RENAME.
TEST_F(ProceduresTest, UnstableDataMeetsSetattrRemoveAndRename) {
  const Fh file = MakeFile(root_, "f", "base");
  ASSERT_EQ(nfs().Write(file, 0, Pattern(100000, 3), UNSTABLE).status, NFS3_OK);
  // Truncating cuts the buffered data too; growing again shows zeros.
  ASSERT_EQ(nfs().Setattr(file, Sattr().Size(50)).status, NFS3_OK);
  EXPECT_EQ(Attr(file).size, 50u);
  ASSERT_EQ(nfs().Setattr(file, Sattr().Size(70)).status, NFS3_OK);
  EXPECT_EQ(Content(file), Pattern(50, 3) + std::string(20, '\0'));
  ASSERT_EQ(nfs().Commit(file).status, NFS3_OK);
  EXPECT_EQ(Content(file), Pattern(50, 3) + std::string(20, '\0'));

  // Times set while data is buffered stay set after it is written out.
  ASSERT_EQ(nfs().Write(file, 70, "more", UNSTABLE).status, NFS3_OK);
  const nfstime3 mtime{1200000000, 5};
  ASSERT_EQ(nfs().Setattr(file, Sattr().Mtime(mtime)).status, NFS3_OK);
  ASSERT_EQ(nfs().Commit(file).status, NFS3_OK);
  fattr3 attr = Attr(file);
  EXPECT_EQ(attr.mtime.seconds, mtime.seconds);
  EXPECT_EQ(attr.mtime.nseconds, mtime.nseconds);
  EXPECT_EQ(attr.size, 74u);

  // CREATE UNCHECKED with size 0 (O_TRUNC) drops buffered data too.
  const Fh reopened = MakeFile(root_, "reopened", "on disk");
  ASSERT_EQ(nfs().Write(reopened, 0, Pattern(50000, 5), UNSTABLE).status, NFS3_OK);
  ASSERT_EQ(nfs().Create(root_, "reopened", UNCHECKED, Sattr().Size(0)).status, NFS3_OK);
  EXPECT_EQ(Attr(reopened).size, 0u);
  ASSERT_EQ(nfs().Commit(reopened).status, NFS3_OK);
  EXPECT_EQ(Content(reopened), "");

  // Renamed with data buffered: the data follows the file.
  const Fh a = MakeDir(root_, "a");
  const Fh b = MakeDir(root_, "b");
  const Fh moving = MakeFile(a, "m", "");
  ASSERT_EQ(nfs().Write(moving, 0, "buffered before the move", UNSTABLE).status, NFS3_OK);
  ASSERT_EQ(nfs().Rename(a, "m", b, "n").status, NFS3_OK);
  ASSERT_EQ(nfs().Write(moving, 0, "B", UNSTABLE).status, NFS3_OK);
  ASSERT_EQ(nfs().Commit(moving).status, NFS3_OK);
  EXPECT_EQ(Content(Handle(b, "n")), "Buffered before the move");
  EXPECT_EQ(nfs().Lookup(a, "m").status, NFS3ERR_NOENT);
  DirPage listing = nfs().Readdir(a, 0, 0, 4096);
  EXPECT_EQ(listing.entries.size(), 2u);

  // Removed with data buffered: gone, and a later flush does not bring
  // it back.
  const Fh doomed = MakeFile(root_, "doomed", "");
  ASSERT_EQ(nfs().Write(doomed, 0, Pattern(70000, 9), UNSTABLE).status, NFS3_OK);
  ASSERT_EQ(nfs().Remove(root_, "doomed").status, NFS3_OK);
  EXPECT_EQ(nfs().Commit(doomed).status, NFS3ERR_STALE);
  ASSERT_EQ(nfs().Commit(file).status, NFS3_OK);
  raw_.reset();
  client_.reset();
  server_->Restart();  // flushes everything buffered
  Connect();
  EXPECT_EQ(nfs().Lookup(root_, "doomed").status, NFS3ERR_NOENT);
  EXPECT_EQ(nfs().Getattr(doomed).status, NFS3ERR_STALE);
  EXPECT_EQ(Content(Handle(b, "n")), "Buffered before the move");
  EXPECT_EQ(Attr(file).size, 74u);
  EXPECT_EQ(Attr(reopened).size, 0u);
}

TEST_F(ProceduresTest, CreateUncheckedKeepsOrTruncatesAnExistingFile) {
  fattr3 dir_before = Attr(root_);
  NewObject made = nfs().Create(root_, "f", UNCHECKED, Sattr().Mode(0600));
  ASSERT_EQ(made.status, NFS3_OK);
  ASSERT_TRUE(made.fh);
  ASSERT_TRUE(made.attr);
  EXPECT_EQ(made.attr->type, NF3REG);
  EXPECT_EQ(made.attr->mode, 0600u);
  EXPECT_EQ(made.attr->size, 0u);
  EXPECT_TRUE(WccMatches(made.dir_wcc, dir_before, Attr(root_)));
  ASSERT_EQ(nfs().Write(*made.fh, 0, "keep me", FILE_SYNC).status, NFS3_OK);

  // Again without a size: the same file, content kept.
  dir_before = Attr(root_);
  NewObject again = nfs().Create(root_, "f", UNCHECKED, Sattr().Mode(0644));
  ASSERT_EQ(again.status, NFS3_OK);
  ASSERT_TRUE(again.attr);
  EXPECT_EQ(again.attr->fileid, made.attr->fileid);
  EXPECT_EQ(again.attr->size, 7u);
  EXPECT_EQ(*again.fh, *made.fh);
  EXPECT_TRUE(WccMatches(again.dir_wcc, dir_before, Attr(root_)));
  EXPECT_EQ(Content(*made.fh), "keep me");

  // With size 0 (open with O_TRUNC): truncated.
  NewObject truncated = nfs().Create(root_, "f", UNCHECKED, Sattr().Size(0));
  ASSERT_EQ(truncated.status, NFS3_OK);
  ASSERT_TRUE(truncated.attr);
  EXPECT_EQ(truncated.attr->fileid, made.attr->fileid);
  EXPECT_EQ(truncated.attr->size, 0u);
  EXPECT_EQ(Attr(*made.fh).size, 0u);

  // UNCHECKED over a directory is not a file to keep.
  MakeDir(root_, "d");
  EXPECT_EQ(nfs().Create(root_, "d", UNCHECKED).status, NFS3ERR_EXIST);
}

TEST_F(ProceduresTest, CreateGuardedRefusesAnExistingName) {
  NewObject made = nfs().Create(root_, "f", GUARDED, Sattr().Mode(0640));
  ASSERT_EQ(made.status, NFS3_OK);
  EXPECT_EQ(made.attr->mode, 0640u);
  ASSERT_EQ(nfs().Write(*made.fh, 0, "content", FILE_SYNC).status, NFS3_OK);

  const fattr3 dir_before = Attr(root_);
  NewObject again = nfs().Create(root_, "f", GUARDED, Sattr().Size(0));
  EXPECT_EQ(again.status, NFS3ERR_EXIST);
  EXPECT_TRUE(WccMatches(again.dir_wcc, dir_before, Attr(root_)));
  EXPECT_EQ(Content(*made.fh), "content");
  MakeDir(root_, "d");
  EXPECT_EQ(nfs().Create(root_, "d", GUARDED).status, NFS3ERR_EXIST);
}

TEST_F(ProceduresTest, CreateExclusiveCreatesOnceAndRefusesOtherVerifiers) {
  const Verifier mine{'v', 'e', 'r', 'i', 'f', 'y', '0', '1'};
  const Verifier theirs{'v', 'e', 'r', 'i', 'f', 'y', '0', '2'};
  NewObject made = nfs().CreateExclusive(root_, "f", mine);
  ASSERT_EQ(made.status, NFS3_OK);
  ASSERT_TRUE(made.fh);
  ASSERT_TRUE(made.attr);
  EXPECT_EQ(made.attr->size, 0u);

  // Anyone else loses (a retransmission of our own: see the next test).
  EXPECT_EQ(nfs().CreateExclusive(root_, "f", theirs).status, NFS3ERR_EXIST);
  MakeFile(root_, "plain", "x");
  EXPECT_EQ(nfs().CreateExclusive(root_, "plain", mine).status, NFS3ERR_EXIST);

  // The client then sets the real attributes.
  ASSERT_EQ(nfs().Setattr(*made.fh, Sattr().Mode(0640).MtimeNow().AtimeNow()).status, NFS3_OK);
  EXPECT_EQ(Attr(*made.fh).mode, 0640u);
}

TEST_F(ProceduresTest, CreateExclusiveRetransmissionFindsItsOwnFile) {
  const Verifier mine{'v', 'e', 'r', 'i', 'f', 'y', '0', '1'};
  NewObject made = nfs().CreateExclusive(root_, "f", mine);
  ASSERT_EQ(made.status, NFS3_OK);
  // A retransmission (same verifier, after the DRC forgot the first)
  // finds its own file.
  NewObject again = nfs().CreateExclusive(root_, "f", mine);
  ASSERT_EQ(again.status, NFS3_OK);
  ASSERT_TRUE(again.fh);
  EXPECT_EQ(*again.fh, *made.fh);
  EXPECT_EQ(again.attr->fileid, made.attr->fileid);
  // Even after the file was looked at and listed, and a restart.
  Attr(*made.fh);
  nfs().Readdirplus(root_, 0, 0, 4096, 65536);
  nfs().Lookup(root_, "f");
  EXPECT_EQ(nfs().CreateExclusive(root_, "f", mine).status, NFS3_OK);
  raw_.reset();
  client_.reset();
  server_->Restart();
  Connect();
  EXPECT_EQ(nfs().CreateExclusive(root_, "f", mine).status, NFS3_OK);
}

// The server's own reads of a ciphertext file (the header peek behind
// every handle) must not move the atime a client sees or set.
TEST_F(ProceduresTest, ServerReadsDoNotMoveAtime) {
  const Fh file = MakeFile(root_, "f", "x");
  const nfstime3 atime{1000000000, 123456789};
  ASSERT_EQ(nfs().Setattr(file, Sattr().Atime(atime)).status, NFS3_OK);
  for (int i = 0; i < 3; ++i) {
    const fattr3 attr = Attr(file);
    EXPECT_EQ(attr.atime.seconds, atime.seconds);
    EXPECT_EQ(attr.atime.nseconds, atime.nseconds);
  }
  // A reply's attributes are what GETATTR sees next.
  ASSERT_EQ(nfs().Write(file, 0, "y", FILE_SYNC).status, NFS3_OK);
  LookupResult found = nfs().Lookup(root_, "f");
  ASSERT_EQ(found.status, NFS3_OK);
  ASSERT_TRUE(found.attr);
  EXPECT_TRUE(SameAttr(*found.attr, Attr(file)));
}

TEST_F(ProceduresTest, MkdirAndRmdir) {
  fattr3 dir_before = Attr(root_);
  NewObject made = nfs().Mkdir(root_, "d", Sattr().Mode(0700));
  ASSERT_EQ(made.status, NFS3_OK);
  ASSERT_TRUE(made.fh);
  ASSERT_TRUE(made.attr);
  EXPECT_EQ(made.attr->type, NF3DIR);
  EXPECT_EQ(made.attr->mode, 0700u);
  EXPECT_TRUE(WccMatches(made.dir_wcc, dir_before, Attr(root_)));
  EXPECT_TRUE(SameAttr(*made.attr, Attr(*made.fh)));

  const Fh inner = MakeDir(*made.fh, "inner");
  MakeFile(inner, "f", "x");
  dir_before = Attr(root_);
  RMDIR3res res = nfs().Rmdir(root_, "d");
  EXPECT_EQ(res.status, NFS3ERR_NOTEMPTY);
  EXPECT_TRUE(WccMatches(res.RMDIR3res_u.resfail.dir_wcc, dir_before, Attr(root_)));

  ASSERT_EQ(nfs().Remove(inner, "f").status, NFS3_OK);
  ASSERT_EQ(nfs().Rmdir(*made.fh, "inner").status, NFS3_OK);
  EXPECT_EQ(nfs().Getattr(inner).status, NFS3ERR_STALE);
  dir_before = Attr(root_);
  res = nfs().Rmdir(root_, "d");
  ASSERT_EQ(res.status, NFS3_OK);
  EXPECT_TRUE(WccMatches(res.RMDIR3res_u.resok.dir_wcc, dir_before, Attr(root_)));
  EXPECT_EQ(nfs().Lookup(root_, "d").status, NFS3ERR_NOENT);
  EXPECT_EQ(nfs().Getattr(*made.fh).status, NFS3ERR_STALE);
}

TEST_F(ProceduresTest, RemoveFilesAndSymlinksButNotDirectories) {
  const Fh file = MakeFile(root_, "f", "x");
  ASSERT_EQ(nfs().Symlink(root_, "l", "f").status, NFS3_OK);
  const Fh dir = MakeDir(root_, "d");

  fattr3 dir_before = Attr(root_);
  REMOVE3res res = nfs().Remove(root_, "f");
  ASSERT_EQ(res.status, NFS3_OK);
  EXPECT_TRUE(WccMatches(res.REMOVE3res_u.resok.dir_wcc, dir_before, Attr(root_)));
  EXPECT_EQ(nfs().Lookup(root_, "f").status, NFS3ERR_NOENT);
  EXPECT_EQ(nfs().Getattr(file).status, NFS3ERR_STALE);

  ASSERT_EQ(nfs().Remove(root_, "l").status, NFS3_OK);
  EXPECT_EQ(nfs().Lookup(root_, "l").status, NFS3ERR_NOENT);

  // A directory is RMDIR's (knfsd: ISDIR, as unlink(2) says EISDIR).
  dir_before = Attr(root_);
  res = nfs().Remove(root_, "d");
  EXPECT_EQ(res.status, NFS3ERR_ISDIR);
  EXPECT_TRUE(WccMatches(res.REMOVE3res_u.resfail.dir_wcc, dir_before, Attr(root_)));
  EXPECT_EQ(Attr(dir).type, NF3DIR);
  // And RMDIR of a file is NOTDIR.
  MakeFile(root_, "g", "x");
  EXPECT_EQ(nfs().Rmdir(root_, "g").status, NFS3ERR_NOTDIR);
  EXPECT_EQ(nfs().Lookup(root_, "g").status, NFS3_OK);
}

TEST_F(ProceduresTest, RenameFilesAndDirectories) {
  const Fh a = MakeDir(root_, "a");
  const Fh b = MakeDir(root_, "b");
  const Fh moved = MakeFile(a, "f", "moved");
  const Fh victim = MakeFile(b, "g", "victim");

  // File over file, across directories; wcc of both.
  const fattr3 a_before = Attr(a);
  const fattr3 b_before = Attr(b);
  RENAME3res res = nfs().Rename(a, "f", b, "g");
  ASSERT_EQ(res.status, NFS3_OK);
  EXPECT_TRUE(WccMatches(res.RENAME3res_u.resok.fromdir_wcc, a_before, Attr(a)));
  EXPECT_TRUE(WccMatches(res.RENAME3res_u.resok.todir_wcc, b_before, Attr(b)));
  EXPECT_EQ(nfs().Lookup(a, "f").status, NFS3ERR_NOENT);
  // The moved file's handle keeps working (byte identity: see
  // RenamedFileKeepsItsHandleBytes).
  EXPECT_EQ(Attr(Handle(b, "g")).fileid, Attr(moved).fileid);
  EXPECT_EQ(Content(moved), "moved");
  EXPECT_EQ(nfs().Getattr(victim).status, NFS3ERR_STALE);

  // Within one directory; to its own name is a no-op.
  ASSERT_EQ(nfs().Rename(b, "g", b, "h").status, NFS3_OK);
  ASSERT_EQ(nfs().Rename(b, "h", b, "h").status, NFS3_OK);
  EXPECT_EQ(Content(Handle(b, "h")), "moved");

  // Directory over an empty directory.
  const Fh d1 = MakeDir(root_, "d1");
  MakeFile(d1, "inside", "1");
  const Fh empty = MakeDir(root_, "empty");
  ASSERT_EQ(nfs().Rename(root_, "d1", root_, "empty").status, NFS3_OK);
  EXPECT_EQ(Handle(root_, "empty"), d1);  // a directory keeps its handle too
  EXPECT_EQ(nfs().Getattr(empty).status, NFS3ERR_STALE);
  EXPECT_EQ(Content(Handle(d1, "inside")), "1");

  // Directory over a non-empty directory: NOTEMPTY (RFC 1813 allows EXIST).
  const Fh full = MakeDir(root_, "full");
  MakeFile(full, "x", "x");
  const RENAME3res over_full = nfs().Rename(root_, "empty", root_, "full");
  EXPECT_TRUE(over_full.status == NFS3ERR_NOTEMPTY || over_full.status == NFS3ERR_EXIST)
      << over_full.status;
  EXPECT_EQ(Handle(root_, "empty"), d1);

  // Directory into its own subdirectory (or itself): INVAL.
  const Fh child = MakeDir(d1, "child");
  EXPECT_EQ(nfs().Rename(root_, "empty", child, "loop").status, NFS3ERR_INVAL);
  EXPECT_EQ(nfs().Rename(root_, "empty", d1, "self").status, NFS3ERR_INVAL);
  EXPECT_EQ(Handle(root_, "empty"), d1);

  // A directory onto itself is a no-op.
  ASSERT_EQ(nfs().Rename(root_, "empty", root_, "empty").status, NFS3_OK);
  EXPECT_EQ(Handle(root_, "empty"), d1);

  // Kinds that do not replace each other, as rename(2) has them.
  MakeFile(root_, "file", "f");
  EXPECT_EQ(nfs().Rename(root_, "file", root_, "full").status, NFS3ERR_ISDIR);
  EXPECT_EQ(nfs().Rename(root_, "full", root_, "file").status, NFS3ERR_NOTDIR);
  EXPECT_EQ(nfs().Rename(root_, "missing", root_, "x").status, NFS3ERR_NOENT);

  // A directory moved elsewhere keeps working, ".." included.
  ASSERT_EQ(nfs().Rename(root_, "empty", b, "moved-dir").status, NFS3_OK);
  EXPECT_EQ(Handle(d1, ".."), b);
  EXPECT_EQ(Handle(child, ".."), d1);
}

// Linux compares handle bytes (nfs_find_actor, nfs_same_file): one object
// should have one handle, or a renamed file becomes a second inode there.
TEST_F(ProceduresTest, RenamedFileKeepsItsHandleBytes) {
  const Fh a = MakeDir(root_, "a");
  const Fh b = MakeDir(root_, "b");
  const Fh file = MakeFile(a, "f", "x");
  ASSERT_EQ(nfs().Rename(a, "f", b, "g").status, NFS3_OK);
  EXPECT_EQ(Handle(b, "g"), file);
  DirPage page = nfs().Readdirplus(b, 0, 0, 4096, 65536);
  ASSERT_EQ(page.status, NFS3_OK);
  ASSERT_EQ(page.entries.size(), 3u);
  EXPECT_EQ(page.entries[2].fh, file);
}

TEST_F(ProceduresTest, DotAndDotDotAreNotNamesToCreateOrRemove) {
  const Fh dir = MakeDir(root_, "d");
  MakeFile(dir, "f", "x");
  for (const char* name : {".", ".."}) {
    SCOPED_TRACE(name);
    // They exist already.
    EXPECT_EQ(nfs().Create(dir, name, UNCHECKED).status, NFS3ERR_EXIST);
    EXPECT_EQ(nfs().Create(dir, name, GUARDED).status, NFS3ERR_EXIST);
    EXPECT_EQ(nfs().CreateExclusive(dir, name, Verifier{}).status, NFS3ERR_EXIST);
    EXPECT_EQ(nfs().Mkdir(dir, name).status, NFS3ERR_EXIST);
    EXPECT_EQ(nfs().Symlink(dir, name, "t").status, NFS3ERR_EXIST);
    // And cannot be removed or renamed, from or to.
    EXPECT_EQ(nfs().Remove(dir, name).status, NFS3ERR_INVAL);
    EXPECT_EQ(nfs().Rmdir(dir, name).status, NFS3ERR_INVAL);
    EXPECT_EQ(nfs().Rename(dir, name, root_, "x").status, NFS3ERR_INVAL);
    EXPECT_EQ(nfs().Rename(dir, "f", dir, name).status, NFS3ERR_INVAL);
  }
  EXPECT_EQ(Attr(Handle(dir, "f")).size, 1u);
  EXPECT_EQ(Attr(dir).type, NF3DIR);
}

}  // namespace
}  // namespace vaultnfs::testing
