#include "nsl/enclave/sealer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>

#include "nsl/core/errors.hpp"
#include "nsl/crypto/symmetric.hpp"
#include "nsl/enclave/protocol.hpp"

namespace nsl::enclave {
namespace {

constexpr char kMagic[4] = {'N', 'S', 'L', '1'};
constexpr std::size_t kHeader = 4 + 8 + 1 + crypto::aes256gcm::kNonceSize;
constexpr std::string_view kLinePrefix = "nsl-root-v1 ";

const char* purpose_name(int p) {
  switch (p) {
    case 1:
      return "key";
    case 2:
      return "secret";
    case 3:
      return "data-key";
    default:
      return "";
  }
}

RootId root_id(ByteView secret) {
  const auto mac = crypto::hmac_sha256(secret, crypto::as_bytes("nsl/root-id/v1"));
  RootId id{};
  std::copy(mac.begin(), mac.begin() + 8, id.begin());
  return id;
}

RootStore::Root make_root(ByteView secret) {
  RootStore::Root r;
  r.secret = std::make_unique<LockedBuffer>(32);
  std::memcpy(r.secret->data(), secret.data(), 32);
  r.id = root_id(secret);
  return r;
}

[[noreturn]] void fail(const std::string& path, const std::string& why) {
  throw StartupError("Enclave:SealingKeyPath " + path + ": " + why);
}

void fsync_dir(const std::filesystem::path& dir) {
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

}  // namespace

RootStore RootStore::open(const std::string& path, bool create) {
  RootStore store;
  store.path_ = path;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT || !create) fail(path, std::strerror(errno));
    std::error_code ec;
    const auto dir = std::filesystem::path(path).parent_path();
    if (!dir.empty()) {
      std::filesystem::create_directories(dir, ec);
      ::chmod(dir.c_str(), 0700);
    }
    const auto secret = crypto::random_bytes(32);
    store.roots_.push_back(make_root(secret));
    auto copy = secret;
    crypto::wipe(copy.data(), copy.size());
    // Replicas sharing one root file may start together: only the first to link its file in
    // place wins, and the others read what it wrote instead of replacing it with their own.
    if (store.write(/*exclusive=*/true)) return store;
    store.roots_.clear();
    if (::stat(path.c_str(), &st) != 0) fail(path, std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) fail(path, "is not a regular file");
  if (st.st_uid != ::geteuid()) fail(path, "belongs to another user (uid " + std::to_string(st.st_uid) + ")");
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 0777);
    fail(path, std::string("may be read by other users (mode ") + mode + "); it must be 0600");
  }
  std::ifstream in(path);
  if (!in) fail(path, "cannot be read");
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    std::optional<Bytes> secret;
    if (line.rfind(kLinePrefix, 0) == 0) secret = crypto::from_hex(std::string_view(line).substr(kLinePrefix.size()));
    crypto::wipe(line.data(), line.size());
    if (!secret || secret->size() != 32) fail(path, "line " + std::to_string(number) + " is not a root sealing secret");
    store.roots_.push_back(make_root(*secret));
    crypto::wipe(secret->data(), secret->size());
  }
  if (store.roots_.empty()) fail(path, "holds no root sealing secret");
  return store;
}

void RootStore::save() const { write(/*exclusive=*/false); }

bool RootStore::write(bool exclusive) const {
  const std::filesystem::path target(path_);
  // A name of our own, so that two writers never share (and rename away) one temporary file.
  const auto tmp = target.string() + ".tmp." + std::to_string(::getpid()) + "." + crypto::to_hex(crypto::random_bytes(6));
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) fail(path_, std::string("cannot be written: ") + std::strerror(errno));
  ::fchmod(fd, 0600);
  bool ok = true;
  for (const auto& r : roots_) {
    std::string line = std::string(kLinePrefix) + crypto::to_hex(r.secret->view()) + "\n";
    ok = ok && ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
    crypto::wipe(line.data(), line.size());
  }
  ok = ok && ::fsync(fd) == 0;
  ::close(fd);
  bool placed = false;
  int error = 0;
  if (ok) {
    placed = exclusive ? ::link(tmp.c_str(), path_.c_str()) == 0 : std::rename(tmp.c_str(), path_.c_str()) == 0;
    if (!placed) error = errno;
  }
  ::unlink(tmp.c_str());
  if (exclusive && error == EEXIST) return false;
  if (!placed) fail(path_, std::string("cannot be written") + (error != 0 ? std::string(": ") + std::strerror(error) : ""));
  fsync_dir(target.parent_path());
  return true;
}

const RootStore::Root& RootStore::rotate() {
  const auto secret = crypto::random_bytes(32);
  roots_.push_back(make_root(secret));
  auto copy = secret;
  crypto::wipe(copy.data(), copy.size());
  try {
    save();
  } catch (...) {
    roots_.pop_back();
    throw;
  }
  return roots_.back();
}

Sealer::Sealer(RootStore roots) : roots_(std::move(roots)) {
  for (const auto& r : roots_.roots()) derive_keys(r);
}

void Sealer::derive_keys(const RootStore::Root& root) {
  Keys k;
  k.id = root.id;
  for (int p = 1; p <= 3; ++p) {
    const auto info = std::string("nsl/seal/v1/") + purpose_name(p);
    auto derived = crypto::hkdf_sha256(root.secret->view(), crypto::as_bytes("nsl-enclave-sealing"), crypto::as_bytes(info), 32);
    auto buf = std::make_unique<LockedBuffer>(32);
    std::memcpy(buf->data(), derived.data(), 32);
    crypto::wipe(derived.data(), derived.size());
    k.by_purpose[static_cast<std::size_t>(p)] = std::move(buf);
  }
  keys_.push_back(std::move(k));
}

Bytes Sealer::seal(Purpose purpose, ByteView aad, ByteView plaintext) const {
  std::shared_lock lock(mutex_);
  const auto& keys = keys_.back();
  const auto nonce = crypto::random_bytes(crypto::aes256gcm::kNonceSize);
  // The header is authenticated along with the caller's associated data.
  Bytes full_aad(kHeader + aad.size());
  std::memcpy(full_aad.data(), kMagic, 4);
  std::memcpy(full_aad.data() + 4, keys.id.data(), keys.id.size());
  full_aad[12] = static_cast<std::uint8_t>(purpose);
  std::memcpy(full_aad.data() + 13, nonce.data(), nonce.size());
  if (!aad.empty()) std::memcpy(full_aad.data() + kHeader, aad.data(), aad.size());
  const auto sealed =
      crypto::aes256gcm::seal(keys.by_purpose[static_cast<std::size_t>(purpose)]->view(), nonce, full_aad, plaintext);
  Bytes blob(kHeader + sealed.size());
  std::memcpy(blob.data(), full_aad.data(), kHeader);
  std::memcpy(blob.data() + kHeader, sealed.data(), sealed.size());
  return blob;
}

std::optional<RootId> Sealer::root_of(ByteView blob) {
  std::optional<RootId> out;
  if (blob.size() < kHeader + crypto::aes256gcm::kTagSize || std::memcmp(blob.data(), kMagic, 4) != 0) return out;
  RootId id{};
  std::copy(blob.begin() + 4, blob.begin() + 12, id.begin());
  out = id;
  return out;
}

crypto::LockedBytes Sealer::open(Purpose purpose, ByteView aad, ByteView blob) const {
  const auto id = root_of(blob);
  if (!id) throw EnclaveError("unseal_failed", "not a sealed blob");
  if (blob[12] != static_cast<std::uint8_t>(purpose))
    throw EnclaveError("unseal_failed", "the blob was sealed for another purpose");
  std::shared_lock lock(mutex_);
  const Keys* keys = nullptr;
  for (const auto& k : keys_) {
    if (k.id == *id) keys = &k;
  }
  if (!keys) throw EnclaveError("unseal_failed", "the blob was sealed under a root sealing secret this enclave does not have");
  Bytes full_aad(kHeader + aad.size());
  std::memcpy(full_aad.data(), blob.data(), kHeader);
  if (!aad.empty()) std::memcpy(full_aad.data() + kHeader, aad.data(), aad.size());
  auto plain = crypto::aes256gcm::open_locked(keys->by_purpose[static_cast<std::size_t>(purpose)]->view(),
                                              blob.subspan(13, crypto::aes256gcm::kNonceSize), full_aad, blob.subspan(kHeader));
  if (!plain) throw EnclaveError("unseal_failed", "the blob does not open: it was changed, or belongs to another record");
  return std::move(*plain);
}

Bytes Sealer::rewrap(Purpose purpose, ByteView aad, ByteView blob) const {
  const auto plain = open(purpose, aad, blob);  // wiped when freed
  return seal(purpose, aad, plain);
}

bool Sealer::locked() const {
  std::shared_lock lock(mutex_);
  for (const auto& r : roots_.roots()) {
    if (!r.secret->locked()) return false;
  }
  for (const auto& k : keys_) {
    for (const auto& b : k.by_purpose) {
      if (b && !b->locked()) return false;
    }
  }
  return true;
}

RootId Sealer::rotate() {
  std::unique_lock lock(mutex_);
  const auto& root = roots_.rotate();
  derive_keys(root);
  return root.id;
}

RootId Sealer::current_root() const {
  std::shared_lock lock(mutex_);
  return keys_.back().id;
}

std::unique_ptr<LockedBuffer> Sealer::derive(std::string_view label) const {
  std::shared_lock lock(mutex_);
  const auto& root = roots_.roots().back();
  auto derived = crypto::hkdf_sha256(root.secret->view(), crypto::as_bytes("nsl-enclave-derive"),
                                     crypto::as_bytes(std::string("nsl/derive/v1/") + std::string(label)), 32);
  auto buf = std::make_unique<LockedBuffer>(32);
  std::memcpy(buf->data(), derived.data(), 32);
  crypto::wipe(derived.data(), derived.size());
  return buf;
}

}  // namespace nsl::enclave
