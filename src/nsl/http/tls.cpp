#include "nsl/http/tls.hpp"

#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <fstream>

#include "nsl/core/errors.hpp"

namespace nsl::http {
namespace {

namespace ssl = boost::asio::ssl;

std::string openssl_error(const boost::system::error_code& ec) { return ec.message().empty() ? "unreadable" : ec.message(); }

}  // namespace

TlsCertificate::TlsCertificate(std::string certificate_path, std::string key_path)
    : certificate_path_(std::move(certificate_path)), key_path_(std::move(key_path)) {
  loaded_stamp_ = stamp();
  context_ = load(description_);
}

std::filesystem::file_time_type TlsCertificate::stamp() const {
  std::error_code ec;
  auto a = std::filesystem::last_write_time(certificate_path_, ec);
  if (ec) a = {};
  auto b = std::filesystem::last_write_time(key_path_, ec);
  if (ec) b = {};
  return std::max(a, b);
}

std::shared_ptr<ssl::context> TlsCertificate::load(std::string& description) const {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                   ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(certificate_path_, ec);
  if (ec)
    throw StartupError("Server:Certificate:Path " + certificate_path_ + ": not a PEM certificate chain (" + openssl_error(ec) +
                       ")");
  ctx->use_private_key_file(key_path_, ssl::context::pem, ec);
  if (ec && ec.message().find("mismatch") != std::string::npos) {
    throw StartupError("Server:Certificate:KeyPath " + key_path_ + ": the key does not belong to the certificate in " +
                       certificate_path_);
  }
  if (ec) throw StartupError("Server:Certificate:KeyPath " + key_path_ + ": not a PEM private key (" + openssl_error(ec) + ")");
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    throw StartupError("Server:Certificate:KeyPath " + key_path_ + ": the key does not belong to the certificate in " +
                       certificate_path_);
  }
  description.clear();
  if (X509* cert = SSL_CTX_get0_certificate(ctx->native_handle())) {
    char subject[256] = {};
    X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof subject - 1);
    description = subject;
    const ASN1_TIME* not_after = X509_get0_notAfter(cert);
    if (BIO* bio = BIO_new(BIO_s_mem())) {
      if (ASN1_TIME_print(bio, not_after) == 1) {
        char* data = nullptr;
        const long n = BIO_get_mem_data(bio, &data);
        description += ", valid until " + std::string(data, static_cast<std::size_t>(n));
      }
      BIO_free(bio);
    }
    if (X509_cmp_current_time(not_after) < 0) description += " (EXPIRED)";
  }
  return ctx;
}

std::shared_ptr<ssl::context> TlsCertificate::context() const {
  std::lock_guard lock(mutex_);
  return context_;
}

bool TlsCertificate::reload_if_changed() {
  const auto now = stamp();
  {
    std::lock_guard lock(mutex_);
    if (now == loaded_stamp_) return false;
    // A failed load is not retried until the files change again.
    loaded_stamp_ = now;
  }
  std::string description;
  auto fresh = load(description);
  std::lock_guard lock(mutex_);
  context_ = std::move(fresh);
  description_ = std::move(description);
  return true;
}

std::string TlsCertificate::describe() const {
  std::lock_guard lock(mutex_);
  return description_;
}

}  // namespace nsl::http
