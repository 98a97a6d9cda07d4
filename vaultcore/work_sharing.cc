#include "vaultcore/work_sharing.h"

namespace vaultcore {
namespace {

// Per thread, so that no caller has to pass the sharing down through the
// write-back buffer to the file: only threads that opted in share.
thread_local WorkSharing* current_sharing = nullptr;

}  // namespace

WorkSharing* WorkSharing::Current() { return current_sharing; }

WorkSharing::Scope::Scope(WorkSharing* sharing) : previous_(current_sharing) {
  current_sharing = sharing;
}

WorkSharing::Scope::~Scope() { current_sharing = previous_; }

}  // namespace vaultcore
