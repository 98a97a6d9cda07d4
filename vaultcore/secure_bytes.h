// SecureBytes: a fixed-size buffer for key material. The memory is its own
// mapping, locked against swapping where the OS allows, excluded from core
// dumps, and wiped with OPENSSL_cleanse when the object dies. Move-only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace vaultcore {

class SecureBytes {
 public:
  SecureBytes() = default;
  explicit SecureBytes(size_t size);            // zero-filled
  SecureBytes(std::span<const uint8_t> bytes);  // NOLINT: copies into secure memory
  ~SecureBytes();

  SecureBytes(SecureBytes&& other) noexcept;
  SecureBytes& operator=(SecureBytes&& other) noexcept;
  SecureBytes(const SecureBytes&) = delete;
  SecureBytes& operator=(const SecureBytes&) = delete;

  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::span<uint8_t> span() { return {data_, size_}; }
  std::span<const uint8_t> span() const { return {data_, size_}; }
  std::span<const uint8_t> first(size_t n) const { return span().first(n); }
  std::span<const uint8_t> last(size_t n) const { return span().last(n); }

 private:
  void Release();

  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t mapped_ = 0;
};

}  // namespace vaultcore
