#include "nsl/crypto/secure_heap.hpp"

#include <openssl/crypto.h>

#include <atomic>
#include <mutex>

namespace nsl::crypto {
namespace {

std::atomic<std::uint64_t> fallbacks{0};
std::once_flag once;
int init_result = 0;  // CRYPTO_secure_malloc_init: 0 failed, 1 locked, 2 set up but not locked
std::size_t heap_size = 0;

}  // namespace

SecureHeap init_secure_heap(std::size_t size) {
  std::call_once(once, [size] {
    init_result = CRYPTO_secure_malloc_init(size, 16);
    if (init_result != 0) heap_size = size;
  });
  return secure_heap();
}

SecureHeap secure_heap() {
  SecureHeap h;
  h.initialised = CRYPTO_secure_malloc_initialized() == 1;
  h.locked = h.initialised && init_result == 1;
  h.size = h.initialised ? heap_size : 0;
  h.used = h.initialised ? CRYPTO_secure_used() : 0;
  h.fallbacks = fallbacks.load();
  return h;
}

void* secure_allocate(std::size_t size) {
  void* p = OPENSSL_secure_malloc(size == 0 ? 1 : size);
  if (p == nullptr) throw std::bad_alloc();
  if (CRYPTO_secure_allocated(p) != 1) fallbacks.fetch_add(1);
  return p;
}

void secure_free(void* p, std::size_t size) noexcept {
  if (p != nullptr) OPENSSL_secure_clear_free(p, size == 0 ? 1 : size);
}

}  // namespace nsl::crypto
