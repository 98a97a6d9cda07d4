// The handlers of the command table in cli.cc, one group per file. Each
// takes the arguments after the command name and returns the exit status.
#pragma once

#include "server/cli.h"

namespace vaultnfs::cli {

// commands_vault.cc: the vault as a whole.
int RunInit(const Invocation& invocation);
int RunPasswd(const Invocation& invocation);
int RunInfo(const Invocation& invocation);

// commands_tree.cc: names and directories.
int RunLs(const Invocation& invocation);
int RunMkdir(const Invocation& invocation);
int RunRm(const Invocation& invocation);
int RunMv(const Invocation& invocation);
int RunLn(const Invocation& invocation);

// commands_content.cc: file content.
int RunCat(const Invocation& invocation);
int RunPut(const Invocation& invocation);
int RunGet(const Invocation& invocation);

// commands_serve.cc: the NFS server.
int RunServe(const Invocation& invocation);

}  // namespace vaultnfs::cli
