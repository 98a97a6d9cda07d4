// One page of a directory listing for READDIR and READDIRPLUS (RFC 1813
// §3.3.16-17): the shared part of both procedures.
//
// Cookies are positions: 0 starts the listing, 1 resumes after ".", 2 after
// "..", and k + 3 after the k-th entry of the directory's listing in its
// stable order. The cookie verifier names the listing; a client resuming a
// listing that has changed since gets BAD_COOKIE and starts again, instead
// of silently skipping or repeating names. Replies never exceed the
// client's byte budget (READDIR's count, READDIRPLUS's maxcount; dircount
// is a hint, see PageWriter) and fill it; a budget too small for a single
// entry is TOOSMALL, never an empty page without eof.
#pragma once

#include "server/nfs3_args.h"
#include "server/request.h"

namespace server::nfs3 {

// Encodes the whole result (status and body) of READDIR (`plus` false) or
// READDIRPLUS.
void EncodeDirectoryPage(Request& request, const ReaddirArgs& args, bool plus);

}  // namespace server::nfs3
