// NodeTable's cached listings and the file locations that point into them.
#include "server/node_table.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "vaultcore/vault_test_fixture.h"

namespace vaultcore::vault_testing {
namespace {

using namespace std::chrono_literals;

class NodeTableTest : public VaultTest {
 protected:
  // A listing taken right after a change is not cached (the racy window).
  static void LetTheDirectorySettle() { std::this_thread::sleep_for(150ms); }

  std::shared_ptr<const server::Listing> ListRoot(server::NodeTable& nodes) {
    auto root_entry = v().RootEntry();
    EXPECT_TRUE(IsOk(root_entry));
    auto listing = nodes.List(*root_entry);
    EXPECT_TRUE(IsOk(listing));
    return listing.ok() ? *listing : nullptr;
  }

  static std::optional<Entry> Find(const server::Listing& listing, std::string_view name) {
    for (const server::ListedNode& node : listing.nodes) {
      if (node.name == name) return listing.EntryOf(node);
    }
    return std::nullopt;
  }
};

TEST_F(NodeTableTest, AListedNodeFillsTheEntryALookupFinds) {
  // Every kind of node, with a short and a shortened (.c9s) name: the
  // rules for their data paths differ.
  const std::string long_name(200, 'l');
  MakeFile(root(), "file", "content");
  MakeFile(root(), long_name + "-file", "content");
  MakeLink(root(), "link", "target");
  MakeLink(root(), long_name + "-link", "target");
  MakeDir(root(), "dir");
  MakeDir(root(), long_name + "-dir");
  ASSERT_TRUE(Shortened(root(), long_name + "-file"));
  LetTheDirectorySettle();
  server::NodeTable nodes(v());
  auto listing = ListRoot(nodes);
  ASSERT_NE(listing, nullptr);
  ASSERT_EQ(listing->nodes.size(), 6u);
  Entry filled;  // one for all nodes, as a READDIR page fills it
  for (const server::ListedNode& node : listing->nodes) {
    SCOPED_TRACE(node.name.substr(0, 16));
    listing->Fill(node, filled);
    const Entry found = Lookup(root(), node.name);
    EXPECT_EQ(filled.name, found.name);
    EXPECT_EQ(filled.parent_id, found.parent_id);
    EXPECT_EQ(filled.node_path, found.node_path);
    EXPECT_EQ(filled.data_path(), found.data_path());
    EXPECT_EQ(filled.dir_id, found.dir_id);
    EXPECT_EQ(filled.shortened, found.shortened);
    EXPECT_EQ(filled.kind(), found.kind());
    EXPECT_EQ(filled.attr.fileid, found.attr.fileid);
    EXPECT_EQ(filled.attr.size, found.attr.size);
  }
}

TEST_F(NodeTableTest, AListingTakenAgainFreesTheOldOneAndItsFilesStillResolve) {
  MakeFile(root(), "a", "alpha");
  MakeFile(root(), "b", "beta");
  LetTheDirectorySettle();
  server::NodeTable nodes(v());
  auto listing = ListRoot(nodes);
  ASSERT_NE(listing, nullptr);
  ASSERT_EQ(listing->nodes.size(), 2u);
  const auto a = Find(*listing, "a");
  ASSERT_TRUE(a.has_value());
  auto handle = nodes.HandleFor(*a);
  ASSERT_TRUE(IsOk(handle));
  // Asked again, the cached listing is the same object.
  EXPECT_EQ(ListRoot(nodes), listing);

  const std::weak_ptr<const server::Listing> weak = listing;
  listing.reset();
  nodes.DirectoryChanged("");
  auto relisted = ListRoot(nodes);
  ASSERT_NE(relisted, nullptr);
  EXPECT_TRUE(weak.expired()) << "a remembered location keeps a dropped listing alive";
  EXPECT_EQ(relisted->nodes.size(), 2u);

  auto resolved = nodes.Resolve(handle->span());
  ASSERT_TRUE(IsOk(resolved));
  EXPECT_EQ(resolved->name, "a");
  EXPECT_EQ(resolved->attr.size, 5u);
}

// A file handed out by CREATE or LOOKUP before its directory is ever listed
// is remembered by place only; its entry is rebuilt from that, data path
// included, for every kind of node.
TEST_F(NodeTableTest, FilesKnownOnlyByPlaceResolveToTheirWholeEntry) {
  // The place packs each name's size in 16 bits: a name a sync client
  // made may be longer than any an NFS client can send.
  const std::vector<Entry> made = {
      MakeFile(root(), "plain", "alpha"), MakeFile(root(), std::string(200, 'n'), "long name"),
      MakeFile(root(), std::string(1000, 'm'), "long name"), MakeLink(root(), "link", "plain")};
  ASSERT_TRUE(made[1].shortened);
  ASSERT_TRUE(made[2].shortened);
  server::NodeTable nodes(v());
  for (const Entry& entry : made) {
    auto handle = nodes.HandleFor(entry);
    ASSERT_TRUE(IsOk(handle));
    auto resolved = nodes.Resolve(handle->span());
    ASSERT_TRUE(IsOk(resolved)) << entry.name;
    EXPECT_EQ(resolved->name, entry.name);
    EXPECT_EQ(resolved->parent_id, entry.parent_id);
    EXPECT_EQ(resolved->node_path, entry.node_path);
    EXPECT_EQ(resolved->data_path(), entry.data_path());
    EXPECT_EQ(resolved->shortened, entry.shortened);
    EXPECT_EQ(resolved->kind(), entry.kind());
    EXPECT_EQ(resolved->attr.fileid, entry.attr.fileid);
    EXPECT_EQ(resolved->attr.size, entry.shortened ? 9u : 5u);  // read from disk
    // Asked again for the same entry, the table gives the same handle.
    auto again = nodes.HandleFor(*resolved);
    ASSERT_TRUE(IsOk(again));
    EXPECT_EQ(again->bytes, handle->bytes);
  }
}

// The handle a client kept across a restart is the one the table gives out
// again, although the file has moved since it was made: clients tell files
// apart by their handles' bytes.
TEST_F(NodeTableTest, AHandleFromBeforeARestartIsGivenOutAgainAfterAMove) {
  const Entry b = MakeDir(root(), "b");
  const Entry file = MakeFile(root(), "file", "content");
  std::optional<server::FileHandle> before;
  {
    server::NodeTable nodes(v());
    auto handle = nodes.HandleFor(file);
    ASSERT_TRUE(IsOk(handle));
    before = *handle;
  }
  ASSERT_TRUE(IsOk(v().Rename(root(), "file", b.AsDir(), "file")));
  const Entry moved = Lookup(b.AsDir(), "file");

  server::NodeTable restarted(v());
  // A handle made now, before any client presented the old one, names the
  // new parent (its hint is all that differs).
  auto fresh = restarted.HandleFor(moved);
  ASSERT_TRUE(IsOk(fresh));
  EXPECT_NE(fresh->bytes, before->bytes);

  server::NodeTable restarted_again(v());
  auto resolved = restarted_again.Resolve(before->span());
  ASSERT_TRUE(IsOk(resolved));
  EXPECT_EQ(resolved->parent_id, b.dir_id);
  for (int i = 0; i < 2; ++i) {  // made, then taken from the table
    auto again = restarted_again.HandleFor(moved);
    ASSERT_TRUE(IsOk(again));
    EXPECT_EQ(again->bytes, before->bytes);
  }
}

// The ids of the directories seen are a bounded cache: a directory handle
// whose id the table forgot is resolved again, the root's too.
TEST_F(NodeTableTest, DirectoryIdsAreBoundedAndFoundAgain) {
  constexpr int kDirectories = 10;
  std::vector<Entry> dirs;
  dirs.reserve(kDirectories);
  for (int i = 0; i < kDirectories; ++i) dirs.push_back(MakeDir(root(), "d" + std::to_string(i)));
  server::NodeTable nodes(v(), server::NodeTable::kDefaultMaxRememberedFiles,
                          /*max_remembered_directories=*/4);
  std::vector<server::FileHandle> handles;
  handles.reserve(dirs.size());
  for (const Entry& dir : dirs) {
    auto handle = nodes.HandleFor(dir);
    ASSERT_TRUE(IsOk(handle));
    handles.push_back(*handle);
    EXPECT_LE(nodes.RememberedDirectories(), 4u);
  }
  for (size_t i = 0; i < dirs.size(); ++i) {
    auto resolved = nodes.Resolve(handles[i].span());
    ASSERT_TRUE(IsOk(resolved)) << dirs[i].name;
    EXPECT_EQ(resolved->dir_id, dirs[i].dir_id);
    EXPECT_LE(nodes.RememberedDirectories(), 4u);
  }
  auto root_entry = nodes.Resolve(nodes.RootHandle().span());
  ASSERT_TRUE(IsOk(root_entry));
  EXPECT_EQ(root_entry->dir_id, "");
}

// A file moved behind the server's back is found by walking the tree, even
// when remembering what the walk lists makes the table start again: the
// file is taken from the listing it is in, not looked up afterwards.
TEST_F(NodeTableTest, AMovedFileIsFoundByTheWalkWhenTheTableOverflows) {
  const Entry b = MakeDir(root(), "b");
  const Entry c = MakeDir(b.AsDir(), "c");  // listed after b: the walk is breadth first
  for (int i = 0; i < 4; ++i) MakeFile(c.AsDir(), "c" + std::to_string(i));
  const Entry moved = MakeFile(root(), "moved", "content");
  server::NodeTable nodes(v(), /*max_remembered_files=*/2);
  auto handle = nodes.HandleFor(moved);
  ASSERT_TRUE(IsOk(handle));
  ASSERT_TRUE(IsOk(v().Rename(root(), "moved", b.AsDir(), "moved")));

  auto resolved = nodes.Resolve(handle->span());
  ASSERT_TRUE(IsOk(resolved));
  EXPECT_EQ(resolved->name, "moved");
  EXPECT_EQ(resolved->parent_id, b.dir_id);
  EXPECT_EQ(resolved->attr.size, 7u);
}

// A READDIRPLUS page takes the handles of a listing's nodes from the
// table, many at once: a node has one once HandleFor made it for that very
// node, a directory never, and a listing taken again gets them too.
TEST_F(NodeTableTest, ListedHandlesAreThoseMadeForTheNodesAsListed) {
  MakeFile(root(), "a", "alpha");
  MakeFile(root(), "b", "beta");
  MakeDir(root(), "d");
  LetTheDirectorySettle();
  server::NodeTable nodes(v());
  auto listing = ListRoot(nodes);
  ASSERT_NE(listing, nullptr);
  ASSERT_EQ(listing->nodes.size(), 3u);
  auto made = [&](const server::Listing& of, std::string_view name) {
    for (const server::ListedNode& node : of.nodes) {
      if (node.name == name) return nodes.HandleFor(of.EntryOf(node), &node);
    }
    return Result<server::FileHandle>(Status(Errc::kNotFound, std::string(name)));
  };
  // Every slot starts set: each must be written.
  auto listed_handles = [&](const server::Listing& of) {
    std::vector<std::optional<server::FileHandle>> handles(of.nodes.size(), server::FileHandle{});
    nodes.ListedHandles(of.nodes, handles);
    std::map<std::string, std::optional<server::FileHandle>> by_name;
    for (size_t i = 0; i < handles.size(); ++i) by_name[of.nodes[i].name] = handles[i];
    return by_name;
  };
  auto handle_a = made(*listing, "a");
  ASSERT_TRUE(IsOk(handle_a));
  ASSERT_TRUE(IsOk(made(*listing, "d")));

  auto handles = listed_handles(*listing);
  ASSERT_TRUE(handles["a"].has_value());
  EXPECT_EQ(handles["a"]->bytes, handle_a->bytes);
  EXPECT_FALSE(handles["b"].has_value()) << "none made for it yet";
  EXPECT_FALSE(handles["d"].has_value()) << "a directory's handle is not kept";

  nodes.DirectoryChanged("");
  auto relisted = ListRoot(nodes);
  ASSERT_NE(relisted, nullptr);
  ASSERT_NE(relisted, listing);
  handles = listed_handles(*relisted);
  ASSERT_TRUE(handles["a"].has_value());
  EXPECT_EQ(handles["a"]->bytes, handle_a->bytes);
  EXPECT_FALSE(listed_handles(*listing)["a"].has_value()) << "the old listing's node is not it";
}

TEST_F(NodeTableTest, ARelistingLetsGoOfTheOldListing) {
  MakeFile(root(), "a", "alpha");
  MakeFile(root(), "b", "beta");
  LetTheDirectorySettle();
  server::NodeTable nodes(v());
  auto old_listing = ListRoot(nodes);
  ASSERT_NE(old_listing, nullptr);
  auto handle_a = nodes.HandleFor(*Find(*old_listing, "a"));
  auto handle_b = nodes.HandleFor(*Find(*old_listing, "b"));
  ASSERT_TRUE(IsOk(handle_a));
  ASSERT_TRUE(IsOk(handle_b));

  // Removed behind the table's back (as a sync client would).
  ASSERT_TRUE(IsOk(v().Remove(root(), "b")));
  LetTheDirectorySettle();
  const std::weak_ptr<const server::Listing> weak = old_listing;
  old_listing.reset();
  auto new_listing = ListRoot(nodes);
  ASSERT_NE(new_listing, nullptr);
  EXPECT_EQ(new_listing->nodes.size(), 1u);
  EXPECT_TRUE(weak.expired()) << "the removed file's location keeps the old listing alive";

  auto a = nodes.Resolve(handle_a->span());
  ASSERT_TRUE(IsOk(a));
  EXPECT_EQ(a->name, "a");
  auto b = nodes.Resolve(handle_b->span());
  EXPECT_EQ(b.status().code(), Errc::kNotFound);
}

TEST_F(NodeTableTest, ListedAttributesAreFreshUntilAChange) {
  const Entry file = MakeFile(root(), "a", "alpha");
  LetTheDirectorySettle();
  server::NodeTable nodes(v());
  auto listing = ListRoot(nodes);
  ASSERT_NE(listing, nullptr);
  EXPECT_FALSE(v().attributes().IsFresh(listing->attributes_read)) << "the cache is off";

  v().SetAttributeCacheTtl(1h);
  nodes.DirectoryChanged("");
  listing = ListRoot(nodes);
  ASSERT_NE(listing, nullptr);
  EXPECT_TRUE(v().attributes().IsFresh(listing->attributes_read));
  Write(file, "a longer content");
  EXPECT_FALSE(v().attributes().IsFresh(listing->attributes_read));
}

TEST_F(NodeTableTest, AStaleListingHasItsAttributesReadAgain) {
  const Entry file = MakeFile(root(), "a", "alpha");
  LetTheDirectorySettle();
  v().SetAttributeCacheTtl(1h);
  server::NodeTable nodes(v());
  auto listing = ListRoot(nodes);
  ASSERT_NE(listing, nullptr);
  EXPECT_EQ(ListRoot(nodes), listing);

  Write(file, "a longer content");  // the directory itself is unchanged
  auto reread = ListRoot(nodes);
  ASSERT_NE(reread, nullptr);
  EXPECT_NE(reread, listing);
  EXPECT_EQ(reread->verifier, listing->verifier) << "the same names: cookies stay valid";
  ASSERT_EQ(reread->nodes.size(), 1u);
  EXPECT_EQ(reread->nodes[0].attr.size, 16u);
  EXPECT_TRUE(v().attributes().IsFresh(reread->attributes_read));
  EXPECT_EQ(ListRoot(nodes), reread);
}

TEST_F(NodeTableTest, AfterWritesOnlyTheFilesWrittenAreReadAgain) {
  const Entry a = MakeFile(root(), "a", "alpha");
  const Entry b = MakeFile(root(), "b", "beta");
  LetTheDirectorySettle();
  v().SetAttributeCacheTtl(1h);
  server::NodeTable nodes(v());
  auto listing = ListRoot(nodes);
  ASSERT_NE(listing, nullptr);
  const timespec b_listed = Find(*listing, "b")->attr.mtime;

  // Someone else sets b's time, which the cache hides for its TTL; this
  // process writes a.
  const timespec times[2] = {{0, UTIME_OMIT}, {1'000'000, 0}};
  ASSERT_EQ(utimensat(AT_FDCWD, b.data_path().c_str(), times, 0), 0);
  Write(a, "a longer content");
  auto reread = ListRoot(nodes);
  ASSERT_NE(reread, nullptr);
  EXPECT_NE(reread, listing);
  EXPECT_EQ(Find(*reread, "a")->attr.size, 16u);
  EXPECT_EQ(Find(*reread, "b")->attr.mtime.tv_sec, b_listed.tv_sec) << "b was not read again";
  EXPECT_EQ(reread->attributes_read.taken, listing->attributes_read.taken);
  EXPECT_TRUE(v().attributes().IsFresh(reread->attributes_read));

  // Any other change through the vault: every entry is read again.
  ASSERT_TRUE(IsOk(v().SetTimes(a, std::nullopt, timespec{2'000'000, 0})));
  auto all = ListRoot(nodes);
  ASSERT_NE(all, nullptr);
  EXPECT_EQ(Find(*all, "b")->attr.mtime.tv_sec, 1'000'000);
}

}  // namespace
}  // namespace vaultcore::vault_testing
