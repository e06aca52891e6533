#pragma once

#include <array>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "nsl/crypto/bytes.hpp"
#include "nsl/crypto/secure_heap.hpp"
#include "nsl/enclave/secure_memory.hpp"

namespace nsl::enclave {

using crypto::Bytes;
using crypto::ByteView;
using RootId = std::array<std::uint8_t, 8>;

/// What a sealed blob holds; part of its header and of the key it is sealed under, so a blob
/// sealed for one purpose never opens as another.
enum class Purpose : std::uint8_t { key = 1, secret = 2, data_key = 3 };

/// The root sealing secrets. In simulation they live in a file readable only by the enclave's
/// user (`Enclave:SealingKeyPath`), one root per line, oldest first; the newest seals, every one
/// still opens what it sealed, so rotation re-wraps data without downtime. On SGX the hardware
/// sealing key takes this place.
class RootStore {
 public:
  struct Root {
    RootId id{};
    std::unique_ptr<LockedBuffer> secret;  // 32 bytes
  };

  /// Loads the file; when it does not exist and `create` is set, creates it (mode 0600) with one
  /// fresh root. Refuses a file that others may read or that belongs to another user.
  static RootStore open(const std::string& path, bool create);

  const std::vector<Root>& roots() const { return roots_; }
  /// Appends a fresh root and rewrites the file atomically (temporary file, fsync, rename).
  const Root& rotate();
  const std::string& path() const { return path_; }

 private:
  void save() const;
  /// Writes the roots to a temporary file of its own and moves it into place: with rename, or
  /// with link when `exclusive`, which returns false if the file already exists.
  bool write(bool exclusive) const;

  std::string path_;
  std::vector<Root> roots_;
};

/// Seals and opens blobs with AES-256-GCM under keys derived (HKDF-SHA256) from the roots.
/// Blob: "NSL1" | root id (8) | purpose (1) | nonce (12) | ciphertext | tag (16). The header and
/// the caller's associated data (e.g. tenant and key name) are authenticated, so a blob cannot be
/// moved to another record. Thread-safe; rotate() may run while others seal and open.
class Sealer {
 public:
  explicit Sealer(RootStore roots);

  Bytes seal(Purpose purpose, ByteView aad, ByteView plaintext) const;
  /// The plaintext, in locked memory. Throws EnclaveError "unseal_failed" for a blob that was
  /// changed, belongs to another record or purpose, or was sealed under a root this enclave does
  /// not have.
  crypto::LockedBytes open(Purpose purpose, ByteView aad, ByteView blob) const;
  /// Opens and seals again under the newest root.
  Bytes rewrap(Purpose purpose, ByteView aad, ByteView blob) const;
  /// Adds a new root; returns its id.
  RootId rotate();
  RootId current_root() const;
  /// The root a blob was sealed under (from its header), if it is a blob at all.
  static std::optional<RootId> root_of(ByteView blob);
  /// 32 bytes derived from the newest root for another use ("attestation").
  std::unique_ptr<LockedBuffer> derive(std::string_view label) const;
  /// Whether the roots and the keys derived from them are locked in RAM.
  bool locked() const;

 private:
  struct Keys {
    RootId id{};
    std::array<std::unique_ptr<LockedBuffer>, 4> by_purpose;  // index = Purpose
  };
  void derive_keys(const RootStore::Root& root);

  mutable std::shared_mutex mutex_;
  RootStore roots_;
  std::vector<Keys> keys_;  // parallel to roots_
};

}  // namespace nsl::enclave
