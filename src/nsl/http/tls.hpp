#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

#include <boost/asio/ssl/context.hpp>

namespace nsl::http {

/// The HTTPS listener's certificate and key (PEM files), loaded into a TLS 1.2+ server context
/// and reloaded when either file changes. Connections keep the context they started with; new
/// connections get the newest one.
class TlsCertificate {
 public:
  /// Loads both files; throws StartupError naming the file and what is wrong with it.
  TlsCertificate(std::string certificate_path, std::string key_path);

  std::shared_ptr<boost::asio::ssl::context> context() const;
  /// Loads the files again if either changed since the last load. Returns true when a new
  /// context is in use; throws (keeping the current one) when the changed files do not load.
  bool reload_if_changed();
  /// The certificate's subject and expiry, for logs.
  std::string describe() const;

 private:
  std::shared_ptr<boost::asio::ssl::context> load(std::string& description) const;
  std::filesystem::file_time_type stamp() const;

  std::string certificate_path_;
  std::string key_path_;
  mutable std::mutex mutex_;
  std::shared_ptr<boost::asio::ssl::context> context_;
  std::filesystem::file_time_type loaded_stamp_{};
  std::string description_;
};

}  // namespace nsl::http
