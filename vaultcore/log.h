// A minimal process-wide log: one line per event on stderr, with a level
// threshold the command line sets. Never pass secrets to it.
#pragma once

#include <string_view>

namespace vaultcore {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3, kOff = 4 };

void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();
void Log(LogLevel level, std::string_view message);

}  // namespace vaultcore
