// Helpers every NFSv3 procedure uses: turning a handle into an entry with
// the right error, checking new names, and encoding attributes as the
// export presents them.
#pragma once

#include <optional>
#include <span>
#include <string_view>

#include "server/export.h"
#include "server/nfs3_xdr.h"
#include "server/request.h"
#include "vaultcore/vault.h"

namespace server::nfs3 {

// Where a resolved entry's attributes may come from. Procedures that only
// report attributes (GETATTR, ACCESS, LOOKUP's and READDIR's directory,
// FSINFO...) take them from the vault's attribute cache; everything that
// touches data or changes something reads the disk, so a file removed or
// replaced behind the server's back is STALE for it at once.
enum class Attributes { kFromDisk, kMayBeCached };

// The entry `handle` names, or BADHANDLE (not ours), STALE (removed) or
// the error reading it met.
Stat ResolveHandle(Request& request, std::span<const uint8_t> handle, vaultcore::Entry* entry,
                   Attributes attributes = Attributes::kFromDisk);
// As ResolveHandle, and NOTDIR unless it is a directory.
Stat ResolveDirectory(Request& request, std::span<const uint8_t> handle, vaultcore::Entry* dir,
                      Attributes attributes = Attributes::kFromDisk);

// ISDIR for a directory and INVAL for a symlink, where content is asked
// for (READ, WRITE, COMMIT).
Stat CheckRegularFile(const vaultcore::Entry& entry);

// A name a client wants to create or look up: NAMETOOLONG past kNameMax,
// ACCES for "/" or NUL inside it, INVAL for "" — "." and ".." are for the
// caller to decide (LOOKUP accepts them, CREATE does not).
Stat CheckName(std::string_view name);

// ROFS when the export is read-only.
Stat CheckWritable(Request& request);

// Whether a file of `old_size` may grow to hold `count` bytes at `offset`:
// INVAL if the end wraps around, FBIG past the export's maximum size, NOSPC
// if the disk cannot hold the ciphertext (an encrypted file has no holes,
// so growing by N bytes writes N bytes).
Stat CheckGrowth(Request& request, uint64_t old_size, uint64_t offset, uint64_t count);

// The start of a change inside a directory (CREATE, MKDIR, SYMLINK,
// REMOVE, RMDIR, RENAME): resolves the directory, checks that the export is
// writable and that `name` is acceptable — for a new name "." and ".." are
// EXIST, for an existing one INVAL — and captures the directory's wcc
// attributes.
enum class NameUse { kNew, kExisting };
Stat BeginDirectoryChange(Request& request, const DirOpArgs& where, NameUse use,
                          vaultcore::Entry* dir, std::optional<WccAttr>* before);
// The directory's wcc_data after the change (empty if it never resolved);
// drops its cached listing.
void EndDirectoryChange(Request& request, const vaultcore::Entry& dir,
                        const std::optional<WccAttr>& before);

// Applies settable attributes in the order that keeps them all: size,
// mode, then times (a truncation would move mtime). uid and gid may only
// be "set" to what every file already shows (the vault has no owners):
// anything else is PERM. Updates `entry`'s attributes when it changed any.
Stat ApplySattr(Request& request, vaultcore::Entry& entry, const Sattr& attr);

// What of a CREATE's or MKDIR's attributes applies to the new object: the
// mode exactly as asked (whatever this process's umask) and the times. The
// size is 0 already; uid and gid are the caller's identity (macOS sends
// them), which a vault without owners cannot take: every object shows the
// export's owner, so they are ignored rather than failing a creation that
// has already happened.
Sattr InitialAttributes(const Sattr& asked);

// post_op_attr of `entry` as it is (visible size applied); absent for an
// entry that never resolved (empty data_path), so a reply can encode it
// whatever the outcome.
void EncodeAttr(Request& request, const vaultcore::Entry& entry);
// wcc_data of a directory or file around a change: `before` as captured,
// after re-read now (absent for an entry that never resolved).
void EncodeWccAfter(Request& request, const std::optional<WccAttr>& before,
                    const vaultcore::Entry& entry);
// The handle of `entry` as post_op_fh3, then its attributes.
void EncodeNewObject(Request& request, const vaultcore::Entry& entry);

// A Stat written as the reply's first word.
inline void EncodeStat(Request& request, Stat stat) { request.reply.U32(stat); }

}  // namespace server::nfs3
