#include "server/directory_page.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <optional>
#include <span>
#include <string_view>

#include "server/nfs3_common.h"
#include "vaultcore/log.h"

namespace server::nfs3 {

namespace {

using vaultcore::Entry;

constexpr size_t kPostOpAttrSize = 4 + kFattrSize;
constexpr size_t kPostOpFhSize = 4 + 4 + ((FileHandle::kSize + 3) & ~size_t{3});
// No page is larger than a READ may be (FSINFO's rtmax), whatever the
// client asks for; most replies fit in what is reserved up front, so the
// reply grows in the arena at most a few times.
constexpr size_t kMaxPage = size_t{1} << 20;
constexpr size_t kReservedPage = size_t{64} << 10;

size_t Padded(size_t n) { return (n + 3) & ~size_t{3}; }

// entry3: value-follows, fileid, name, cookie.
size_t EntrySize(std::string_view name) { return 4 + 8 + 4 + Padded(name.size()) + 8; }

// A page holds as many entries as the reply's budget does: READDIR's
// count, READDIRPLUS's maxcount. READDIRPLUS's dircount bounds nothing
// here. RFC 1813 has it save a server from reading more of a directory
// than the client will use, but a listing here is read whole and cached
// anyway, so a page cut short would only cost the client another round
// trip. Linux's knfsd and nfs-ganesha fill pages to maxcount as well, and
// recent Linux clients send maxcount as dircount (older ones an eighth).
class PageWriter {
 public:
  PageWriter(Request& request, const ReaddirArgs& args, bool plus)
      : request_(request), plus_(plus), maxcount_(std::min<size_t>(args.maxcount, kMaxPage)) {}

  // The reply so far: status, dir attributes, verifier. Counted against
  // maxcount together with the closing "no more entries" and eof.
  void Begin(const Entry& dir, uint64_t verifier) {
    request_.reply.ReserveCapacity(std::min(maxcount_, kReservedPage));
    EncodeStat(request_, kOk);
    EncodeAttr(request_, dir);
    request_.reply.U64(verifier);
    used_ = 4 + kPostOpAttrSize + 8 + 4 + 4;
  }

  // Adds one entry; false if it does not fit (nothing written then).
  // `object` is described as it is, or with `refresh` after re-reading its
  // attributes (from the attribute cache, if it may); `listed` is the node
  // of the listing it was filled from, if any.
  bool Add(std::string_view name, uint64_t fileid, uint64_t cookie, const Entry& object,
           bool refresh, const ListedNode* listed = nullptr) {
    if (!Fits(name)) return false;
    rpc::XdrWriter& out = request_.reply;
    BeginEntry(name, fileid, cookie);
    if (plus_) {
      std::optional<Entry> fresh;
      if (refresh) {
        fresh = object;
        if (!request_.exp.vault().Refresh(*fresh).ok()) fresh.reset();
      }
      if (!refresh || fresh) {
        const Entry& described = fresh ? *fresh : object;
        EncodeAttr(request_, described);
        auto handle = request_.exp.nodes().HandleFor(described, listed);
        EncodePostOpFh(out, handle.ok() ? handle->span() : std::span<const uint8_t>());
      } else {
        EncodePostOpAttr(out, nullptr, request_.exp.attr_policy());
        EncodePostOpFh(out, {});
      }
    }
    Count(name);
    return true;
  }

  // Adds a READDIRPLUS entry for `node` exactly as its listing has it,
  // with the handle made for it before; for when its listed attributes
  // are what a client may see (Export::ShowsOwnAttributes). False if it
  // does not fit. Written in one append of its known size: a page holds
  // hundreds of these, and growing the reply item by item cost more than
  // encoding them.
  bool AddAsListed(const ListedNode& node, uint64_t cookie, const FileHandle& handle) {
    if (!Fits(node.name)) return false;
    rpc::XdrCursor out(request_.reply.Append(SizeOf(node.name)));
    out.Bool(true);
    out.U64(node.attr.fileid);
    out.String(node.name);
    out.U64(cookie);
    out.Bool(true);  // post_op_attr
    EncodeFattr(out, node.attr, request_.exp.attr_policy());
    out.Bool(true);  // post_op_fh3
    out.Opaque(handle.span());
    assert(out.written() == SizeOf(node.name));
    Count(node.name);
    return true;
  }

  size_t count() const { return count_; }

 private:
  size_t SizeOf(std::string_view name) const {
    return EntrySize(name) + (plus_ ? kPostOpAttrSize + kPostOpFhSize : 0);
  }
  bool Fits(std::string_view name) const { return used_ + SizeOf(name) <= maxcount_; }
  void BeginEntry(std::string_view name, uint64_t fileid, uint64_t cookie) {
    rpc::XdrWriter& out = request_.reply;
    out.Bool(true);
    out.U64(fileid);
    out.String(name);
    out.U64(cookie);
  }
  void Count(std::string_view name) {
    used_ += SizeOf(name);
    ++count_;
  }

  Request& request_;
  const bool plus_;
  const size_t maxcount_;
  size_t used_ = 0;
  size_t count_ = 0;
};

// The handles made before for the nodes of a listing, looked up a window
// of nodes at a time (NodeTable::ListedHandles): a window is about a
// fifth of a 64 KiB page, so a page wastes at most a few lookups.
class ListedHandleWindow {
 public:
  ListedHandleWindow(NodeTable& table, std::span<const ListedNode> nodes)
      : table_(table), nodes_(nodes) {}

  // The handle of node `i`, if one was made before for it as listed.
  const std::optional<FileHandle>& At(size_t i) {
    if (i < begin_ || i >= end_) {
      begin_ = i;
      end_ = std::min(i + kWindow, nodes_.size());
      table_.ListedHandles(nodes_.subspan(begin_, end_ - begin_),
                           std::span(handles_).first(end_ - begin_));
    }
    return handles_[i - begin_];
  }

 private:
  static constexpr size_t kWindow = 64;

  NodeTable& table_;
  const std::span<const ListedNode> nodes_;
  std::array<std::optional<FileHandle>, kWindow> handles_;
  size_t begin_ = 0;
  size_t end_ = 0;  // handles_ holds nodes [begin_, end_)
};

void EncodeFailure(Request& request, Stat stat, const Entry& dir) {
  EncodeStat(request, stat);
  EncodeAttr(request, dir);
}

}  // namespace

void EncodeDirectoryPage(Request& request, const ReaddirArgs& args, bool plus) {
  Entry dir;
  Stat stat = ResolveDirectory(request, args.handle, &dir, Attributes::kMayBeCached);
  if (stat != kOk) {
    EncodeFailure(request, stat, dir);
    return;
  }
  auto listing = request.exp.nodes().List(dir);
  if (!listing.ok()) {
    EncodeFailure(request, StatFor(listing.status()), dir);
    return;
  }
  const Listing& listed = **listing;
  const std::vector<ListedNode>& nodes = listed.nodes;
  const uint64_t verifier = listed.verifier;
  if (args.cookie != 0 &&
      ((args.verifier != 0 && args.verifier != verifier) || args.cookie > nodes.size() + 2)) {
    EncodeFailure(request, kErrBadCookie, dir);
    return;
  }

  const size_t mark = request.reply.size();
  PageWriter page(request, args, plus);
  page.Begin(dir, verifier);
  uint64_t cookie = args.cookie;
  bool full = false;
  if (cookie == 0) {
    full = !page.Add(".", dir.attr.fileid, 1, dir, /*refresh=*/false);
    if (!full) cookie = 1;
  }
  if (!full && cookie == 1) {
    // A parent that cannot be read (removed meanwhile) shows as "." does.
    auto up = request.exp.nodes().Parent(dir);
    const Entry& parent = up.ok() ? *up : dir;
    full = !page.Add("..", parent.attr.fileid, 2, parent, /*refresh=*/false);
    if (!full) cookie = 2;
  }
  // Attributes read with the listing are used as long as cached ones would
  // be; past that, each is read again.
  const bool refresh = !request.exp.vault().attributes().IsFresh(listed.attributes_read);
  // Node i has cookie i + 3, whatever was skipped before it.
  const size_t first = cookie >= 2 ? cookie - 2 : nodes.size();
  ListedHandleWindow handles(request.exp.nodes(), nodes);
  Entry entry;  // each node in turn, its strings' memory reused
  for (size_t i = first; !full && i < nodes.size(); ++i) {
    const ListedNode& node = nodes[i];
    if (CheckName(node.name) != kOk) {
      // A name no NFS client can hold (over 255 bytes): skip it.
      vaultcore::Log(vaultcore::LogLevel::kDebug,
                     "READDIR skips a name of " + std::to_string(node.name.size()) + " bytes");
      continue;
    }
    // Mostly a page needs no more of a node than its listing holds: then
    // its whole Entry (names and paths) is not built, which was 15 % of
    // the server's instructions for a READDIRPLUS page (callgrind).
    if (plus && !refresh && request.exp.ShowsOwnAttributes(node.kind())) {
      if (const std::optional<FileHandle>& handle = handles.At(i)) {
        full = !page.AddAsListed(node, i + 3, *handle);
        continue;
      }
    }
    listed.Fill(node, entry);
    full = !page.Add(node.name, node.attr.fileid, i + 3, entry, refresh, &node);
  }
  const bool eof = !full;
  if (page.count() == 0 && !eof) {
    request.reply.ShrinkOpaque(mark, 0);
    EncodeFailure(request, kErrTooSmall, dir);
    return;
  }
  request.reply.Bool(false);  // no more entries
  request.reply.Bool(eof);
}

}  // namespace server::nfs3
