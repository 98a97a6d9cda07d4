#include "server/password.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace vaultnfs::cli {
namespace {

using vaultcore::Errc;
using vaultcore::Status;

// The terminal state a signal handler restores when the user interrupts a
// prompt: otherwise the shell is left without echo.
int g_tty_fd = -1;
termios g_saved_tty{};
volatile sig_atomic_t g_echo_off = 0;

constexpr std::array<int, 4> kRestoreSignals = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

void RestoreTerminalAndDie(int sig) {
  if (g_echo_off != 0) tcsetattr(g_tty_fd, TCSANOW, &g_saved_tty);
  signal(sig, SIG_DFL);
  raise(sig);
}

void WriteAll(int fd, std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // a prompt that cannot be shown is not fatal
    text.remove_prefix(static_cast<size_t>(n));
  }
}

Status TooLong() {
  return Status(Errc::kInvalidArgument,
                "the password is longer than " + std::to_string(Secret::kMaxSize) + " bytes");
}

// Reads up to the first newline of `path`.
Status ReadPasswordFile(const std::string& path, Secret* out) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "cannot read the password file " + path);
  std::array<char, 512> buffer{};
  Status status;
  bool done = false;
  while (!done && status.ok()) {
    const ssize_t n = read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      status = Status::FromErrno(errno, "cannot read the password file " + path);
      break;
    }
    if (n == 0) break;
    for (ssize_t i = 0; i < n; ++i) {
      if (buffer[i] == '\n') {
        done = true;
        break;
      }
      if (!out->Append(buffer[i])) {
        status = TooLong();
        break;
      }
    }
  }
  OPENSSL_cleanse(buffer.data(), buffer.size());
  close(fd);
  if (!status.ok()) return status;
  // A file written on Windows ends its line with "\r\n".
  if (out->view().ends_with('\r')) out->PopBack();
  return Status::Ok();
}

// Shows `prompt` on the terminal `fd` and reads one line with echo off.
Status PromptOnce(int fd, const char* prompt, Secret* out) {
  termios saved{};
  if (tcgetattr(fd, &saved) != 0) return Status::FromErrno(errno, "cannot use the terminal");
  termios quiet = saved;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  quiet.c_lflag |= ICANON;

  g_tty_fd = fd;
  g_saved_tty = saved;
  std::array<struct sigaction, kRestoreSignals.size()> previous{};
  struct sigaction restore {};
  restore.sa_handler = RestoreTerminalAndDie;
  sigemptyset(&restore.sa_mask);
  for (size_t i = 0; i < kRestoreSignals.size(); ++i) {
    sigaction(kRestoreSignals[i], &restore, &previous[i]);
  }

  // Echo goes off before the prompt shows, so nothing typed in answer to it
  // can appear; TCSAFLUSH drops what was typed before.
  Status status;
  if (tcsetattr(fd, TCSAFLUSH, &quiet) != 0) {
    status = Status::FromErrno(errno, "cannot turn off echo on the terminal");
  } else {
    g_echo_off = 1;
    WriteAll(fd, prompt);
  }
  bool got_newline = false;
  while (status.ok()) {
    char c = 0;
    const ssize_t n = read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      status = Status::FromErrno(errno, "cannot read from the terminal");
      break;
    }
    if (n == 0) break;  // end of input (Ctrl-D)
    if (c == '\n') {
      got_newline = true;
      break;
    }
    if (!out->Append(c)) status = TooLong();
  }
  if (g_echo_off != 0) {
    tcsetattr(fd, TCSANOW, &saved);
    g_echo_off = 0;
  }
  for (size_t i = 0; i < kRestoreSignals.size(); ++i) {
    sigaction(kRestoreSignals[i], &previous[i], nullptr);
  }
  WriteAll(fd, "\n");  // the user's Enter was not echoed
  if (status.ok() && !got_newline && out->empty()) {
    status = Status(Errc::kInvalidArgument, "no password entered");
  }
  return status;
}

Status PromptOnTerminal(const PasswordSource& source, Secret* out) {
  const int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    return Status(Errc::kInvalidArgument, "no password given and no terminal to ask for one");
  }
  Status status = PromptOnce(fd, source.prompt, out);
  if (status.ok() && source.confirm) {
    Secret again;
    status = PromptOnce(fd, "Repeat to confirm: ", &again);
    if (status.ok() && again.view() != out->view()) {
      status = Status(Errc::kInvalidArgument, "the two passwords do not match");
    }
  }
  close(fd);
  if (!status.ok()) out->Clear();
  return status;
}

}  // namespace

Secret::Secret() { value_.reserve(kMaxSize); }

Secret::~Secret() { Clear(); }

bool Secret::Append(char c) {
  if (value_.size() >= kMaxSize) return false;
  value_.push_back(c);
  return true;
}

void Secret::PopBack() {
  if (value_.empty()) return;
  value_.back() = '\0';
  value_.pop_back();
}

void Secret::Clear() {
  OPENSSL_cleanse(value_.data(), value_.size());
  value_.clear();
}

bool WillPrompt(const PasswordSource& source) {
  return !source.file &&
         (source.env_name == nullptr ||
          std::getenv(source.env_name) == nullptr);  // NOLINT(concurrency-mt-unsafe)
}

Status ReadPassword(const PasswordSource& source, Secret* out) {
  out->Clear();
  if (source.file) return ReadPasswordFile(*source.file, out);
  if (source.env_name != nullptr) {
    if (const char* value = std::getenv(source.env_name)) {  // NOLINT(concurrency-mt-unsafe)
      for (const char* p = value; *p != '\0'; ++p) {
        if (!out->Append(*p)) return TooLong();
      }
      return Status::Ok();
    }
  }
  return PromptOnTerminal(source, out);
}

}  // namespace vaultnfs::cli
