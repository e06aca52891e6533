#pragma once

// Secret material in locked memory: OpenSSL's secure heap (CRYPTO_secure_malloc_init), a fixed
// arena of pages locked in RAM (never written to swap), left out of core dumps and fenced by
// guard pages. OpenSSL keeps the private-key numbers of the keys it builds there too. A process
// that holds keys (nsl-enclave) sets it up once at start; LockedBytes then live in it, and are
// wiped when freed.

#include <cstddef>
#include <cstdint>
#include <new>
#include <vector>

namespace nsl::crypto {

/// What the secure heap is: whether it was set up, whether its pages are locked (mlock can fail
/// under a low RLIMIT_MEMLOCK), its size and how much is in use.
struct SecureHeap {
  bool initialised = false;
  bool locked = false;
  std::size_t size = 0;
  std::size_t used = 0;
  /// Allocations of LockedBytes the secure heap could not take (full, or not set up), served
  /// from the ordinary heap instead (still wiped when freed).
  std::uint64_t fallbacks = 0;
};

/// Sets up the secure heap of `size` bytes (a power of two) once per process; later calls
/// change nothing. Returns what it is.
SecureHeap init_secure_heap(std::size_t size);
SecureHeap secure_heap();

void* secure_allocate(std::size_t size);
void secure_free(void* p, std::size_t size) noexcept;  // wipes first

/// A std allocator over the secure heap.
template <class T>
struct SecureAllocator {
  using value_type = T;
  SecureAllocator() = default;
  template <class U>
  explicit SecureAllocator(const SecureAllocator<U>& /*other*/) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(secure_allocate(n * sizeof(T))); }
  void deallocate(T* p, std::size_t n) noexcept { secure_free(p, n * sizeof(T)); }
  friend bool operator==(const SecureAllocator& /*a*/, const SecureAllocator& /*b*/) noexcept { return true; }
};

/// Bytes of secret material (private keys, derived keys, data keys, secret values) in the
/// secure heap.
using LockedBytes = std::vector<std::uint8_t, SecureAllocator<std::uint8_t>>;

}  // namespace nsl::crypto
