#pragma once

// Certificates for TLS tests, made with OpenSSL's X.509 API into a directory: a test CA and leaf
// certificates for loopback (signed by the CA or by themselves, for any host names, valid or
// expired). P-256 keys, SHA-256 signatures.
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

namespace nsl::http::testing {

class TestPki {
 public:
  struct Issued {
    std::string certificate;  // PEM file
    std::string key;          // PEM file
  };

  explicit TestPki(std::filesystem::path directory) : dir_(std::move(directory)), ca_key_(new_key()) {
    std::filesystem::create_directories(dir_);
    ca_ = make("nsl test CA", "", 0, 2 * kDay, nullptr, ca_key_.get(), true);
    ca_path_ = write_certificate("ca.pem", ca_.get());
  }

  /// The CA's certificate (a CA bundle of one).
  const std::string& ca() const { return ca_path_; }

  /// A server certificate for `sans` ("IP:127.0.0.1,DNS:localhost"), valid from `from` to `to`
  /// seconds from now, signed by the CA or, when `self_signed`, by its own key.
  Issued issue(const std::string& name, const std::string& sans, long from = -60, long to = kDay, bool self_signed = false) {
    const auto key = new_key();
    const auto cert = self_signed ? make(name, sans, from, to, nullptr, key.get(), false)
                                  : make(name, sans, from, to, ca_.get(), key.get(), false);
    Issued out{write_certificate(name + ".pem", cert.get()), (dir_ / (name + ".key")).string()};
    const std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(out.key.c_str(), "w"), &std::fclose);
    if (!f || PEM_write_PrivateKey(f.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
      throw std::runtime_error("cannot write " + out.key);
    return out;
  }

  static constexpr long kDay = 24 * 3600;

 private:
  using Key = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
  using Cert = std::unique_ptr<X509, decltype(&X509_free)>;

  static Key new_key() {
    Key k(EVP_EC_gen("P-256"), &EVP_PKEY_free);
    if (!k) throw std::runtime_error("EVP_EC_gen failed");
    return k;
  }

  static void add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    std::unique_ptr<X509_EXTENSION, decltype(&X509_EXTENSION_free)> ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()),
                                                                        &X509_EXTENSION_free);
    if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) throw std::runtime_error("cannot add extension " + value);
  }

  // `issuer` null: self-signed with `key`; otherwise signed with the CA's key.
  Cert make(const std::string& name, const std::string& sans, long from, long to, X509* issuer, EVP_PKEY* key, bool ca) {
    Cert cert(X509_new(), &X509_free);
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), ++serial_);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), from);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), to);
    X509_set_pubkey(cert.get(), key);
    X509_NAME* subject = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1, 0);
    X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : subject);
    X509* signer = issuer ? issuer : cert.get();
    if (ca) {
      add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
      add_extension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
      add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
      add_extension(cert.get(), signer, NID_ext_key_usage, "serverAuth");
      if (!sans.empty()) add_extension(cert.get(), signer, NID_subject_alt_name, sans);
    }
    if (X509_sign(cert.get(), issuer ? ca_key_.get() : key, EVP_sha256()) == 0) throw std::runtime_error("X509_sign failed");
    return cert;
  }

  std::string write_certificate(const std::string& file, X509* cert) const {
    auto path = (dir_ / file).string();
    const std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "w"), &std::fclose);
    if (!f || PEM_write_X509(f.get(), cert) != 1) throw std::runtime_error("cannot write " + path);
    return path;
  }

  std::filesystem::path dir_;
  Key ca_key_;
  Cert ca_{nullptr, &X509_free};
  std::string ca_path_;
  long serial_ = 0;
};

}  // namespace nsl::http::testing
