// Export: the vault as NFS serves it, and everything the procedures share:
// the node table (handles, listings), the write-back buffer, the
// read-ahead, the duplicate-request cache, the write verifier, and the
// policy that decides who may do what and how attributes look.
//
// One Export per served vault; the Vault must outlive it. Thread-safe: the
// I/O thread and the worker pool use it at once.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/duplicate_request_cache.h"
#include "server/nfs3_xdr.h"
#include "server/node_table.h"
#include "server/read_ahead.h"
#include "server/write_back.h"
#include "vaultcore/vault.h"

namespace server {

struct ExportOptions {
  bool read_only = false;
  // Who owns every file, as clients see it (default: the vault directory's
  // owner), and who may call at all besides that owner and root.
  uint32_t owner_uid = 0;
  uint32_t owner_gid = 0;
  std::vector<uint32_t> allowed_uids;
  WriteBackBuffer::Options write_back;
  // The largest file size served (FSINFO maxfilesize); larger is FBIG.
  uint64_t max_file_size = uint64_t{1} << 44;  // 16 TiB
  // How long attributes read from disk are reused when nothing changed
  // through this server (vaultcore/attribute_cache.h): what a change made
  // outside the server may take to show. 0 reads the disk every time.
  std::chrono::milliseconds attribute_cache_ttl{1000};
};

class Export {
 public:
  Export(vaultcore::Vault& vault, ExportOptions options);
  Export(const Export&) = delete;
  Export& operator=(const Export&) = delete;

  vaultcore::Vault& vault() { return vault_; }
  NodeTable& nodes() { return nodes_; }
  WriteBackBuffer& write_back() { return write_back_; }
  ReadAhead& read_ahead() { return read_ahead_; }
  DuplicateRequestCache& duplicate_requests() { return duplicate_requests_; }
  const ExportOptions& options() const { return options_; }
  const nfs3::AttrPolicy& attr_policy() const { return attr_policy_; }
  // Different at every start, and changed whenever buffered writes were
  // lost (a failed write-back): a client that sees it change after UNSTABLE
  // writes sends them again.
  std::array<uint8_t, nfs3::kWriteVerifierSize> write_verifier() const;
  bool read_only() const { return options_.read_only || vault_.read_only(); }
  // Whether a caller with this AUTH_SYS uid may use the export.
  bool IsAllowedUid(uint32_t uid) const;

  // What a client sees of `entry`: a file's size includes data that is
  // still in the write-back buffer.
  vaultcore::Attributes VisibleAttributes(const vaultcore::Entry& entry);
  // Whether VisibleAttributes of any entry of this kind is just its own
  // attributes: yes, unless it is a file and some file has data buffered.
  // Only data still in the buffer can make a file look longer than its
  // entry says (whose attributes are as fresh as the attribute cache's);
  // bytes are counted before they enter the buffer: none counted, none there.
  bool ShowsOwnAttributes(vaultcore::NodeKind kind) const {
    return kind != vaultcore::NodeKind::kFile || write_back_.buffered_bytes() == 0;
  }

  // The content of a file. The most recently used files stay open, so a
  // sequential READ or WRITE does not open and parse the header each time.
  // A removed file is let go at once when this server removed it (the node
  // table tells), else within a second, when a file is next opened: an
  // unlinked file held open keeps its disk space. `entry`'s attributes
  // must have been read from disk just before (a handle resolved
  // kFromDisk, a lookup, a create): a file open under its inode is then
  // the file at its path, found without a stat.
  vaultcore::Result<std::shared_ptr<vaultcore::EncryptedFile>> OpenFile(
      const vaultcore::Entry& entry);
  // Keeps a file this server just created among the open ones: the WRITE
  // that follows a CREATE finds it open.
  void KeepOpen(std::shared_ptr<vaultcore::EncryptedFile> file);

  // MOUNT's record of who mounted what (DUMP), as RFC 1813 keeps it:
  // advisory, for display only.
  void AddMount(std::string_view client, std::string_view path);
  void RemoveMount(std::string_view client, std::string_view path);
  void RemoveMounts(std::string_view client);
  std::vector<std::pair<std::string, std::string>> Mounts();

 private:
  vaultcore::Vault& vault_;
  const ExportOptions options_;
  NodeTable nodes_;
  WriteBackBuffer write_back_;
  ReadAhead read_ahead_;  // reads through write_back_
  DuplicateRequestCache duplicate_requests_;
  nfs3::AttrPolicy attr_policy_;
  std::array<uint8_t, nfs3::kWriteVerifierSize> write_verifier_{};

  // Drops `entry`'s file from the files kept open.
  void ForgetOpenFile(const vaultcore::Entry& entry);

  // Puts `file` first among the open files; open_files_mutex_ held.
  void KeepOpenLocked(std::shared_ptr<vaultcore::EncryptedFile> file);

  std::mutex open_files_mutex_;
  std::list<std::shared_ptr<vaultcore::EncryptedFile>> open_files_;  // most recent first
  std::chrono::steady_clock::time_point next_unlinked_sweep_{};

  std::mutex mounts_mutex_;
  std::vector<std::pair<std::string, std::string>> mounts_;  // client, path
};

}  // namespace server
