// Load the server must take without losing or mixing up data: many
// clients at once, many requests in flight on one connection, a directory
// of 100,000 entries (VAULTNFS_BIG_DIR overrides the count), and a
// directory that a sync client changes underneath the server.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/nfs_harness.h"
#include "tests/nfs_raw.h"
#include "tests/testing.h"
#include "vaultcore/encrypted_file.h"

namespace vaultnfs::testing {
namespace {

using Clock = std::chrono::steady_clock;

constexpr char kPassword[] = "scale test password";

std::string Pattern(uint32_t seed, size_t size) {
  std::string out(size, '\0');
  std::mt19937 random(seed);
  for (char& c : out) c = static_cast<char>(random());
  return out;
}

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Reads a file expected to hold `size` bytes with READs of at most
// `piece`; returns false with the libnfs error in *error.
bool ReadExactly(nfs_context* nfs, const std::string& path, size_t size, std::string* content,
                 std::string* error, size_t piece = 256 * 1024) {
  nfsfh* fh = nullptr;
  if (nfs_open(nfs, path.c_str(), O_RDONLY, &fh) != 0) {
    *error = nfs_get_error(nfs);
    return false;
  }
  content->clear();
  std::string buffer(piece, '\0');
  int rc = 0;
  // One byte more than expected, so a longer file shows.
  while (content->size() <= size) {
    const size_t want = std::min(piece, size + 1 - content->size());
    rc = nfs_pread(nfs, fh, content->size(), want, buffer.data());
    if (rc <= 0) break;
    content->append(buffer.data(), static_cast<size_t>(rc));
  }
  if (rc < 0) *error = nfs_get_error(nfs);
  nfs_close(nfs, fh);
  return rc >= 0;
}

class NfsScaleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    vaultcore::CreateOptions options;
    options.scrypt.n = 1024;
    ASSERT_TRUE(IsOk(vaultcore::Vault::Create(vault_path_, kPassword, options)));
    server_ = std::make_unique<TestServer>(vault_path_, kPassword);
  }

  TempDir dir_;
  std::string vault_path_ = dir_.str() + "/vault";
  std::unique_ptr<TestServer> server_;
};

TEST_F(NfsScaleTest, EightClientsWriteAndReadConcurrently) {
  constexpr int kClients = 8;
  constexpr int kFilesPerClient = 4;
  // A file every client reads while the others write.
  const std::string shared = Pattern(999, 300'000);
  {
    NfsClient client(*server_);
    ASSERT_TRUE(client.ok()) << client.error();
    ASSERT_EQ(client.WriteFile("/shared.bin", shared), 0) << client.error();
  }
  std::mutex mutex;
  std::vector<std::string> failures;
  auto fail = [&](const std::string& what, const std::string& why) {
    std::lock_guard lock(mutex);
    failures.push_back(what + ": " + why);
  };
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  threads.reserve(kClients);
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&, c] {
      NfsClient client(*server_);
      if (!client.ok()) return fail("client " + std::to_string(c), client.error());
      const std::string dir = "/client-" + std::to_string(c);
      if (nfs_mkdir(client.get(), dir.c_str()) != 0) return fail(dir, client.error());
      std::vector<std::pair<std::string, std::string>> files;
      for (int f = 0; f < kFilesPerClient; ++f) {
        const size_t size = 1000 + static_cast<size_t>(c * 37'000 + f * 61'111);
        files.emplace_back(dir + "/file-" + std::to_string(f),
                           Pattern(static_cast<uint32_t>(c * 100 + f), size));
      }
      for (int round = 0; round < 2; ++round) {
        for (const auto& [path, content] : files) {
          if (client.WriteFile(path, content) != 0) return fail(path, client.error());
          std::string error, back;
          if (!ReadExactly(client.get(), "/shared.bin", shared.size(), &back, &error) ||
              back != shared) {
            return fail("shared.bin as client " + std::to_string(c) + " read it", error);
          }
        }
        for (const auto& [path, content] : files) {
          std::string error, back;
          if (!ReadExactly(client.get(), path, content.size(), &back, &error)) {
            return fail(path, error);
          }
          if (back != content) fail(path, "read back other data");
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (const std::string& f : failures) ADD_FAILURE() << f;
  std::cout << kClients << " clients: " << SecondsSince(start) << " s\n";

  // And all of it is in the vault as any implementation reads it.
  for (int c = 0; c < kClients; ++c) {
    for (int f = 0; f < kFilesPerClient; ++f) {
      const std::string path = "/client-" + std::to_string(c) + "/file-" + std::to_string(f);
      auto entry = server_->vault().ResolvePath(path);
      ASSERT_TRUE(IsOk(entry)) << path;
      EXPECT_EQ(entry->attr.size, 1000 + static_cast<size_t>(c * 37'000 + f * 61'111)) << path;
    }
  }
}

// Drives `nfs` until `*remaining` reaches 0 (or a time limit passes).
bool ServiceUntilDone(nfs_context* nfs, const int* remaining) {
  const auto deadline = Clock::now() + std::chrono::seconds(120);
  while (*remaining > 0) {
    if (Clock::now() > deadline) return false;
    pollfd pfd{nfs_get_fd(nfs), static_cast<short>(nfs_which_events(nfs)), 0};
    if (poll(&pfd, 1, 100) < 0) continue;
    if (nfs_service(nfs, pfd.revents) < 0) return false;
  }
  return true;
}

TEST_F(NfsScaleTest, ManyRequestsInFlightOnOneConnection) {
  constexpr int kFiles = 4;
  constexpr int kPiecesPerFile = 16;          // 64 requests in flight
  constexpr size_t kPiece = 64 * 1024 + 123;  // not chunk aligned
  NfsClient client(*server_);
  ASSERT_TRUE(client.ok()) << client.error();
  nfs_context* nfs = client.get();

  struct Op {
    int* remaining = nullptr;
    int status = 1;  // not done
    size_t expected = 0;
    std::string data;
  };
  std::vector<nfsfh*> handles(kFiles, nullptr);
  std::vector<std::string> contents;
  for (int f = 0; f < kFiles; ++f) {
    const std::string path = "/async-" + std::to_string(f);
    ASSERT_EQ(nfs_open2(nfs, path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644, &handles[f]), 0)
        << client.error();
    contents.push_back(Pattern(static_cast<uint32_t>(f + 1), kPiece * kPiecesPerFile));
  }

  // Every write queued before any reply is read, pieces in shuffled order.
  std::vector<std::pair<int, int>> order;
  for (int f = 0; f < kFiles; ++f) {
    for (int p = 0; p < kPiecesPerFile; ++p) order.emplace_back(f, p);
  }
  std::shuffle(order.begin(), order.end(), std::mt19937(7));
  int remaining = 0;
  std::vector<Op> writes(order.size());
  auto on_write = [](int status, nfs_context* /*nfs*/, void* /*data*/, void* private_data) {
    auto* op = static_cast<Op*>(private_data);
    op->status = status;
    --*op->remaining;
  };
  const auto start = Clock::now();
  for (size_t i = 0; i < order.size(); ++i) {
    const auto [f, p] = order[i];
    writes[i].remaining = &remaining;
    writes[i].expected = kPiece;
    ASSERT_EQ(nfs_pwrite_async(nfs, handles[f], p * kPiece, kPiece, contents[f].data() + p * kPiece,
                               on_write, &writes[i]),
              0)
        << client.error();
    ++remaining;
  }
  const int in_flight = remaining;
  EXPECT_GE(in_flight, 32);
  ASSERT_TRUE(ServiceUntilDone(nfs, &remaining)) << client.error();
  for (const Op& op : writes) EXPECT_EQ(op.status, static_cast<int>(kPiece));
  for (nfsfh* fh : handles) ASSERT_EQ(nfs_fsync(nfs, fh), 0) << client.error();
  const double write_seconds = SecondsSince(start);

  // Then every read at once, each checked against what was written.
  std::vector<Op> reads(order.size());
  auto on_read = [](int status, nfs_context* /*nfs*/, void* data, void* private_data) {
    auto* op = static_cast<Op*>(private_data);
    op->status = status;
    if (status > 0) op->data.assign(static_cast<const char*>(data), static_cast<size_t>(status));
    --*op->remaining;
  };
  std::shuffle(order.begin(), order.end(), std::mt19937(8));
  for (size_t i = 0; i < order.size(); ++i) {
    const auto [f, p] = order[i];
    reads[i].remaining = &remaining;
    ASSERT_EQ(nfs_pread_async(nfs, handles[f], p * kPiece, kPiece, on_read, &reads[i]), 0)
        << client.error();
    ++remaining;
  }
  ASSERT_TRUE(ServiceUntilDone(nfs, &remaining)) << client.error();
  for (size_t i = 0; i < order.size(); ++i) {
    const auto [f, p] = order[i];
    ASSERT_EQ(reads[i].status, static_cast<int>(kPiece)) << f << "/" << p;
    EXPECT_TRUE(reads[i].data == contents[f].substr(p * kPiece, kPiece)) << f << "/" << p;
  }
  for (nfsfh* fh : handles) nfs_close(nfs, fh);
  std::cout << in_flight << " writes in flight: " << write_seconds << " s; reads+writes "
            << SecondsSince(start) << " s\n";
}

size_t BigDirectoryCount() {
  const char* env = std::getenv("VAULTNFS_BIG_DIR");  // NOLINT(concurrency-mt-unsafe)
  if (env == nullptr || *env == '\0') return 100'000;
  return static_cast<size_t>(std::strtoul(env, nullptr, 10));
}

std::string BigName(size_t i) {
  // Varying lengths, so pages hold varying numbers of entries.
  return "entry-" + std::to_string(i) + std::string(i % 23, 'x') + ".dat";
}

// Fills `dir` with files BigName(0..count) the way a sync client would
// download them: ciphertext nodes written straight into the content
// directory (encrypted name, file with a header), from two threads. The
// server learns of them only by listing.
void FillBigDirectory(vaultcore::Vault& vault, const vaultcore::DirRef& dir, size_t count) {
  constexpr size_t kThreads = 2;
  std::atomic<size_t> failures{0};
  std::string first_failure;
  std::mutex mutex;
  std::vector<std::thread> threads;
  for (size_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (size_t i = t; i < count; i += kThreads) {
        auto name = vault.names().EncryptName(BigName(i), dir.id);
        vaultcore::Status s = name.status();
        if (s.ok()) {
          auto file = vaultcore::EncryptedFile::Create(
              vault.cryptor(), dir.content_path + "/" + vault.names().NodeName(*name), 0644);
          s = file.status();
        }
        if (!s.ok() && failures++ == 0) {
          std::lock_guard lock(mutex);
          first_failure = BigName(i) + ": " + s.ToString();
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0U) << first_failure;
}

TEST_F(NfsScaleTest, HugeDirectoryListsEveryNameOnce) {
  const size_t count = BigDirectoryCount();
  vaultcore::Vault& vault = server_->vault();
  auto start = Clock::now();
  auto big = vault.MakeDirectory(vault.Root(), "big", 0755);
  ASSERT_TRUE(IsOk(big));
  FillBigDirectory(vault, big->AsDir(), count);
  const double create_seconds = SecondsSince(start);

  NfsClient client(*server_);
  ASSERT_TRUE(client.ok()) << client.error();
  nfs_set_dircache(client.get(), 0);

  auto check = [&](const std::vector<std::string>& names, const char* how) {
    SCOPED_TRACE(how);
    std::vector<int> seen(count, 0);
    size_t other = 0;
    std::map<std::string, size_t> index;
    for (size_t i = 0; i < count; ++i) index.emplace(BigName(i), i);
    for (const std::string& name : names) {
      auto it = index.find(name);
      if (it != index.end()) {
        ++seen[it->second];
      } else if (name != "." && name != "..") {
        ++other;
        ADD_FAILURE() << "unexpected name " << name;
      }
    }
    size_t missing = 0, repeated = 0;
    for (size_t i = 0; i < count; ++i) {
      if (seen[i] == 0) ++missing;
      if (seen[i] > 1) ++repeated;
    }
    EXPECT_EQ(missing, 0U);
    EXPECT_EQ(repeated, 0U);
    EXPECT_EQ(other, 0U);
  };

  // READDIRPLUS through libnfs (nfs_opendir reads the whole directory).
  start = Clock::now();
  nfsdir* dir = nullptr;
  ASSERT_EQ(nfs_opendir(client.get(), "/big", &dir), 0) << client.error();
  std::vector<std::string> names;
  names.reserve(count + 2);
  while (nfsdirent* e = nfs_readdir(client.get(), dir)) names.emplace_back(e->name);
  nfs_closedir(client.get(), dir);
  const double readdirplus_seconds = SecondsSince(start);
  check(names, "READDIRPLUS (nfs_opendir)");

  // READDIR, raw, in 32 KiB pages.
  RawNfs raw(client.raw());
  const MountResult root = raw.Mnt("/");
  ASSERT_EQ(root.status, MNT3_OK);
  const LookupResult big_dir = raw.Lookup(root.fh, "big");
  ASSERT_EQ(big_dir.status, NFS3_OK);
  const Fh& handle = big_dir.fh;
  start = Clock::now();
  const DirListing listing = raw.ListDir(handle, 32 * 1024);
  ASSERT_EQ(listing.status, NFS3_OK) << raw.error();
  const double readdir_seconds = SecondsSince(start);
  names.clear();
  std::set<uint64_t> cookies;
  for (const DirEntry& e : listing.entries) {
    names.push_back(e.name);
    EXPECT_TRUE(cookies.insert(e.cookie).second) << "cookie " << e.cookie << " repeats";
  }
  check(names, "READDIR (raw)");

  // A LOOKUP in the big directory, and one of a name that is not there.
  start = Clock::now();
  for (size_t i = 0; i < count; i += std::max<size_t>(1, count / 50)) {
    EXPECT_EQ(raw.Lookup(handle, BigName(i)).status, NFS3_OK) << i;
  }
  EXPECT_EQ(raw.Lookup(handle, "not-there").status, NFS3ERR_NOENT);
  const double lookup_seconds = SecondsSince(start);

  std::cout << count << " entries: create " << create_seconds << " s, READDIRPLUS (libnfs) "
            << readdirplus_seconds << " s, READDIR " << readdir_seconds << " s in " << listing.pages
            << " pages, 51 LOOKUPs " << lookup_seconds << " s\n";
}

// A stale handle whose directory is huge must not cost a listing of that
// directory each time it is used: clients retry such handles.
TEST_F(NfsScaleTest, StaleHandleInHugeDirectoryIsCheap) {
  const size_t count = std::min<size_t>(BigDirectoryCount(), 20'000);
  vaultcore::Vault& vault = server_->vault();
  auto big = vault.MakeDirectory(vault.Root(), "big", 0755);
  ASSERT_TRUE(IsOk(big));
  FillBigDirectory(vault, big->AsDir(), count);
  NfsClient client(*server_);
  ASSERT_TRUE(client.ok()) << client.error();
  RawNfs raw(client.raw());
  const MountResult root = raw.Mnt("/");
  ASSERT_EQ(root.status, MNT3_OK);
  const LookupResult dir = raw.Lookup(root.fh, "big");
  ASSERT_EQ(dir.status, NFS3_OK);
  const LookupResult found = raw.Lookup(dir.fh, BigName(7));
  ASSERT_EQ(found.status, NFS3_OK);
  const Fh& file = found.fh;
  // Removed behind the server's back: it cannot know without looking.
  auto other = vaultcore::Vault::Open(vault_path_, kPassword);
  ASSERT_TRUE(IsOk(other));
  auto other_big = (*other)->ResolvePath("/big");
  ASSERT_TRUE(IsOk(other_big));
  ASSERT_TRUE(IsOk((*other)->Remove(other_big->AsDir(), BigName(7))));

  auto start = Clock::now();
  EXPECT_EQ(raw.Getattr(file).status, NFS3ERR_STALE);
  const double first = SecondsSince(start);
  start = Clock::now();
  constexpr int kRetries = 20;
  for (int i = 0; i < kRetries; ++i) {
    EXPECT_EQ(raw.Getattr(file).status, NFS3ERR_STALE);
  }
  const double retries = SecondsSince(start);
  std::cout << count << " entries: first STALE " << first << " s, " << kRetries << " more "
            << retries << " s\n";
  // The first answer may list the directory; the retries must not (each
  // is far cheaper than one listing).
  EXPECT_LT(retries, first * kRetries / 4 + 0.5);
}

TEST_F(NfsScaleTest, ChangesUnderneathShowInTheNextListing) {
  NfsClient client(*server_);
  ASSERT_TRUE(client.ok()) << client.error();
  nfs_context* nfs = client.get();
  nfs_set_dircache(nfs, 0);  // what the server says, not libnfs's cache
  ASSERT_EQ(nfs_mkdir(nfs, "/synced"), 0) << client.error();
  ASSERT_EQ(client.WriteFile("/synced/a", "a"), 0) << client.error();
  ASSERT_EQ(client.WriteFile("/synced/b", "b"), 0) << client.error();
  ASSERT_EQ(client.WriteFile("/synced/c", "old c"), 0) << client.error();
  RawNfs raw(client.raw());
  const MountResult mounted = raw.Mnt("/");
  ASSERT_EQ(mounted.status, MNT3_OK);
  const Fh& root = mounted.fh;
  const LookupResult old_c = raw.LookupPath(root, "/synced/c");
  ASSERT_EQ(old_c.status, NFS3_OK);

  auto list = [&] {
    std::set<std::string> names;
    nfsdir* dir = nullptr;
    EXPECT_EQ(nfs_opendir(nfs, "/synced", &dir), 0) << client.error();
    if (dir == nullptr) return names;
    while (nfsdirent* e = nfs_readdir(nfs, dir)) {
      if (std::string(e->name) != "." && std::string(e->name) != "..") names.insert(e->name);
    }
    nfs_closedir(nfs, dir);
    return names;
  };
  auto raw_list = [&] {
    std::set<std::string> names;
    const LookupResult dir = raw.LookupPath(root, "/synced");
    EXPECT_EQ(dir.status, NFS3_OK);
    const DirListing listing = raw.ListDir(dir.fh, 4096);
    EXPECT_EQ(listing.status, NFS3_OK);
    for (const DirEntry& e : listing.entries) {
      if (e.name != "." && e.name != "..") names.insert(e.name);
    }
    return names;
  };
  auto exists = [&](const std::string& path) {
    nfs_stat_64 st{};
    return nfs_stat64(nfs, path.c_str(), &st) == 0;
  };
  // Let the listing become old enough to be cached by the server, then
  // change the directory with a second Vault on the same files.
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  EXPECT_EQ(list(), (std::set<std::string>{"a", "b", "c"}));
  EXPECT_EQ(raw_list(), (std::set<std::string>{"a", "b", "c"}));

  auto other = vaultcore::Vault::Open(vault_path_, kPassword);
  ASSERT_TRUE(IsOk(other));
  vaultcore::Vault& sync = **other;
  auto synced = sync.ResolvePath("/synced");
  ASSERT_TRUE(IsOk(synced));
  const vaultcore::DirRef d = synced->AsDir();
  auto write = [&](const std::string& name, const std::string& content) {
    auto created = sync.CreateFile(d, name, 0644);
    ASSERT_TRUE(IsOk(created));
    auto file = sync.OpenFile(*created);
    ASSERT_TRUE(IsOk(file));
    ASSERT_TRUE(IsOk((*file)->Write(0, vaultcore::AsBytes(content))));
  };
  write("d", "new file d");
  ASSERT_TRUE(IsOk(sync.Remove(d, "a")));
  ASSERT_TRUE(IsOk(sync.Rename(d, "b", d, "b2")));
  ASSERT_TRUE(IsOk(sync.MakeDirectory(d, "sub", 0755)));
  // A sync client replaces a file by writing a temporary one and renaming
  // it over the old.
  write("c.download", "new c, longer");
  ASSERT_TRUE(IsOk(sync.Rename(d, "c.download", d, "c")));

  const std::set<std::string> now = {"b2", "c", "d", "sub"};
  EXPECT_EQ(list(), now);
  EXPECT_EQ(raw_list(), now);
  EXPECT_FALSE(exists("/synced/a"));
  EXPECT_FALSE(exists("/synced/b"));
  EXPECT_TRUE(exists("/synced/b2"));
  EXPECT_TRUE(exists("/synced/sub"));
  std::string content, error;
  ASSERT_TRUE(ReadExactly(nfs, "/synced/d", 10, &content, &error)) << error;
  EXPECT_EQ(content, "new file d");
  ASSERT_TRUE(ReadExactly(nfs, "/synced/c", 13, &content, &error)) << error;
  EXPECT_EQ(content, "new c, longer");
  // The handle of the replaced file never reads the new one.
  const ReadResult old_data = raw.ReadAll(old_c.fh);
  EXPECT_EQ(old_data.status, NFS3ERR_STALE);
  EXPECT_NE(old_data.data, "new c, longer");

  // A second round at once, inside the time-stamp granularity of the
  // first: a rename that keeps the number of entries the same.
  ASSERT_TRUE(IsOk(sync.Rename(d, "d", d, "e")));
  EXPECT_EQ(list(), (std::set<std::string>{"b2", "c", "e", "sub"}));
  ASSERT_TRUE(IsOk(sync.Rename(d, "e", d, "f")));
  EXPECT_EQ(raw_list(), (std::set<std::string>{"b2", "c", "f", "sub"}));
  EXPECT_FALSE(exists("/synced/d"));
  EXPECT_FALSE(exists("/synced/e"));
  EXPECT_TRUE(exists("/synced/f"));
}

}  // namespace
}  // namespace vaultnfs::testing
