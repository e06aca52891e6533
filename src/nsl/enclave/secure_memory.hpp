#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace nsl::enclave {

/// Memory for secret material inside the enclave process: its own pages, locked in RAM
/// (mlock: never written to swap), excluded from core dumps (MADV_DONTDUMP), and wiped before
/// they are returned. Fixed size, not copyable.
class LockedBuffer {
 public:
  explicit LockedBuffer(std::size_t size);
  ~LockedBuffer();
  LockedBuffer(const LockedBuffer&) = delete;
  LockedBuffer& operator=(const LockedBuffer&) = delete;
  LockedBuffer(LockedBuffer&& o) noexcept;
  LockedBuffer& operator=(LockedBuffer&&) = delete;

  std::uint8_t* data() noexcept { return data_; }
  const std::uint8_t* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  std::span<const std::uint8_t> view() const noexcept { return {data_, size_}; }
  /// Whether mlock succeeded (it can fail under a low RLIMIT_MEMLOCK; the enclave logs it).
  bool locked() const noexcept { return locked_; }

 private:
  std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t mapped_ = 0;
  bool locked_ = false;
};

}  // namespace nsl::enclave
