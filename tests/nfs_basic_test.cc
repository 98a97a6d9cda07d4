// The first things a client does through libnfs: mount, create, write,
// read back, list, rename, remove — the smoke test of the whole stack.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <nfsc/libnfs.h>

#include <string>

#include "tests/nfs_harness.h"
#include "tests/testing.h"

namespace vaultnfs::testing {
namespace {

constexpr char kPassword[] = "nfs test password";

class NfsBasicTest : public ::testing::Test {
 protected:
  void SetUp() override {
    vaultcore::CreateOptions options;
    options.scrypt.n = 1024;  // fast unlock: these tests are about NFS
    ASSERT_TRUE(IsOk(vaultcore::Vault::Create(vault_path_, kPassword, options)));
    server_ = std::make_unique<TestServer>(vault_path_, kPassword);
  }

  TempDir dir_;
  std::string vault_path_ = dir_.str() + "/vault";
  std::unique_ptr<TestServer> server_;
};

TEST_F(NfsBasicTest, WriteReadListRenameRemove) {
  NfsClient client(*server_);
  ASSERT_TRUE(client.ok()) << client.error();
  std::string content(3 * 1024 * 1024 + 123, '\0');
  for (size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>(i * 7 + i / 4096);
  ASSERT_EQ(client.WriteFile("/a.bin", content), 0) << client.error();
  std::string back;
  ASSERT_EQ(client.ReadFile("/a.bin", &back), 0) << client.error();
  EXPECT_EQ(back, content);

  ASSERT_EQ(nfs_mkdir(client.get(), "/sub"), 0) << client.error();
  ASSERT_EQ(nfs_rename(client.get(), "/a.bin", "/sub/b.bin"), 0) << client.error();
  nfsdir* dir = nullptr;
  ASSERT_EQ(nfs_opendir(client.get(), "/sub", &dir), 0) << client.error();
  std::vector<std::string> names;
  while (nfsdirent* e = nfs_readdir(client.get(), dir)) names.emplace_back(e->name);
  nfs_closedir(client.get(), dir);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{".", "..", "b.bin"}));

  // The vault holds the file, as any Cryptomator implementation reads it.
  auto entry = server_->vault().ResolvePath("/sub/b.bin");
  ASSERT_TRUE(IsOk(entry));
  EXPECT_EQ(entry->attr.size, content.size());

  ASSERT_EQ(nfs_unlink(client.get(), "/sub/b.bin"), 0) << client.error();
  ASSERT_EQ(nfs_rmdir(client.get(), "/sub"), 0) << client.error();
  nfs_stat_64 st{};
  EXPECT_EQ(nfs_stat64(client.get(), "/sub", &st), -ENOENT);
}

// One READ at a time in order: the server reads each next range ahead
// (server/read_ahead.h). What the client gets must still be the file as
// it is, including a WRITE that lands in a range already read ahead.
TEST_F(NfsBasicTest, ReadsInOrderSeeEveryWriteBetweenThem) {
  NfsClient client(*server_);
  ASSERT_TRUE(client.ok()) << client.error();
  constexpr size_t kRange = 1 << 20;
  std::string model(8 * kRange, '\0');
  for (size_t i = 0; i < model.size(); ++i) model[i] = static_cast<char>(i * 13 + i / 9973);
  ASSERT_EQ(client.WriteFile("/seq.bin", model), 0) << client.error();

  nfsfh* fh = nullptr;
  ASSERT_EQ(nfs_open(client.get(), "/seq.bin", O_RDWR, &fh), 0) << client.error();
  std::string range(kRange, '\0');
  for (size_t i = 0; i < 8; ++i) {
    const uint64_t offset = i * kRange;
    if (i == 3) {  // range 3 was read ahead while range 2 was sent
      const std::string patch(5000, 'w');
      ASSERT_EQ(nfs_pwrite(client.get(), fh, offset + 100, patch.size(), patch.data()),
                static_cast<int>(patch.size()))
          << client.error();
      model.replace(offset + 100, patch.size(), patch);
    }
    ASSERT_EQ(nfs_pread(client.get(), fh, offset, range.size(), range.data()),
              static_cast<int>(kRange))
        << client.error();
    EXPECT_TRUE(range == model.substr(offset, kRange)) << "range " << i;
  }
  nfs_close(client.get(), fh);
  EXPECT_GT(server_->exp().read_ahead().held_bytes(), 0u) << "nothing was read ahead";
}

}  // namespace
}  // namespace vaultnfs::testing
