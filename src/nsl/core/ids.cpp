#include "nsl/core/ids.hpp"

#include <pthread.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <cstdint>
#include <stdexcept>

#include <openssl/rand.h>

namespace nsl {

namespace {

// Incremented in every child a fork() makes (registered once, before the first id).
std::atomic<unsigned> fork_generation{0};

unsigned current_fork_generation() {
  static const bool registered = [] {
    ::pthread_atfork(nullptr, nullptr, [] { fork_generation.fetch_add(1, std::memory_order_relaxed); });
    return true;
  }();
  (void)registered;
  return fork_generation.load(std::memory_order_relaxed);
}

// Bytes from the OpenSSL CSPRNG, fetched 4 KiB at a time per thread: one RAND_bytes call per
// 256 ids instead of one per id (it costs about a microsecond). A forked child refills first,
// so parent and child never hand out the same bytes.
class RandomPool {
 public:
  void take(unsigned char* out, std::size_t n) {
    const auto generation = current_fork_generation();
    if (pos_ + n > buf_.size() || generation_ != generation) refill(generation);
    std::memcpy(out, buf_.data() + pos_, n);
    std::memset(buf_.data() + pos_, 0, n);
    pos_ += n;
  }

 private:
  void refill(unsigned generation) {
    if (RAND_bytes(buf_.data(), static_cast<int>(buf_.size())) != 1) throw std::runtime_error("CSPRNG failure");
    pos_ = 0;
    generation_ = generation;
  }
  std::array<unsigned char, 4096> buf_{};
  std::size_t pos_ = buf_.size();
  unsigned generation_ = 0;
};

std::string canonical(const std::array<unsigned char, 16>& b) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 0xF]);
  }
  return out;
}

}  // namespace

std::string random_uuid() {
  thread_local RandomPool pool;
  std::array<unsigned char, 16> b{};
  pool.take(b.data(), b.size());
  b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);
  return canonical(b);
}

std::string time_ordered_uuid() {
  thread_local RandomPool pool;
  std::array<unsigned char, 16> b{};
  pool.take(b.data() + 6, 10);
  const auto ms = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
  for (int i = 0; i < 6; ++i) b[static_cast<std::size_t>(i)] = static_cast<unsigned char>(ms >> (40 - 8 * i));
  b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x70);
  b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);
  return canonical(b);
}

bool is_acceptable_request_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                    c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace nsl
