#include "nsl/enclave/secure_memory.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <new>

#include "nsl/crypto/bytes.hpp"

namespace nsl::enclave {

LockedBuffer::LockedBuffer(std::size_t size) : size_(size) {
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  mapped_ = ((size == 0 ? 1 : size) + page - 1) / page * page;
  void* p = ::mmap(nullptr, mapped_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  data_ = static_cast<std::uint8_t*>(p);
  ::madvise(p, mapped_, MADV_DONTDUMP);
  ::madvise(p, mapped_, MADV_DONTFORK);
  locked_ = ::mlock(p, mapped_) == 0;
}

LockedBuffer::LockedBuffer(LockedBuffer&& o) noexcept : data_(o.data_), size_(o.size_), mapped_(o.mapped_), locked_(o.locked_) {
  o.data_ = nullptr;
  o.size_ = o.mapped_ = 0;
}

LockedBuffer::~LockedBuffer() {
  if (!data_) return;
  crypto::wipe(data_, mapped_);
  if (locked_) ::munlock(data_, mapped_);
  ::munmap(data_, mapped_);
}

}  // namespace nsl::enclave
