#include "nsl/http/client.hpp"

#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>
#include <mutex>
#include <stdexcept>

namespace nsl::http {
namespace {

struct CurlDeleter {
  void operator()(CURL* c) const noexcept { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const noexcept { curl_slist_free_all(l); }
};

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// One handle per pool thread: curl keeps its connections alive between requests on it.
CURL* thread_handle() {
  thread_local std::unique_ptr<CURL, CurlDeleter> handle(curl_easy_init());
  curl_easy_reset(handle.get());
  return handle.get();
}

struct Sink {
  std::string* body;
  std::size_t limit;
  bool overflow = false;
};

std::size_t on_data(char* data, std::size_t size, std::size_t n, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const std::size_t len = size * n;
  if (sink->body->size() + len > sink->limit) {
    sink->overflow = true;
    return 0;  // makes curl abort the transfer
  }
  sink->body->append(data, len);
  return len;
}

OutboundError::Kind kind_of(CURLcode code) {
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return OutboundError::Kind::timeout;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
      return OutboundError::Kind::connect;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
      return OutboundError::Kind::tls;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return OutboundError::Kind::invalid_url;
    default:
      return OutboundError::Kind::other;
  }
}

// A CA bundle must hold at least one PEM certificate, read now rather than at the first request.
void require_certificates(const std::string& path) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_file(path.c_str(), "r"), &BIO_free);
  if (!bio) throw std::invalid_argument("the CA bundle " + path + " cannot be read");
  std::unique_ptr<X509, decltype(&X509_free)> first(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), &X509_free);
  ERR_clear_error();
  if (!first) throw std::invalid_argument("the CA bundle " + path + " holds no PEM certificate");
}

const char* kind_label(OutboundError::Kind k) {
  switch (k) {
    case OutboundError::Kind::timeout:
      return "timeout";
    case OutboundError::Kind::connect:
      return "connect_error";
    case OutboundError::Kind::tls:
      return "tls_error";
    case OutboundError::Kind::too_large:
      return "too_large";
    case OutboundError::Kind::invalid_url:
      return "invalid_url";
    case OutboundError::Kind::other:
      return "error";
  }
  return "error";
}

}  // namespace

HttpClient::HttpClient(HttpClientOptions options, metrics::Registry& registry, log::Sink& logs)
    : options_(std::move(options)),
      requests_(registry.counter("nsl_outbound_requests_total",
                                 "Outbound HTTP requests by dependency and outcome (status code or error kind).",
                                 {"dependency", "outcome"})),
      duration_(registry
                    .histogram("nsl_outbound_request_duration_seconds", "Duration of outbound HTTP requests by dependency.",
                               {"dependency"})
                    .with({options_.dependency})),
      log_(logs.get("http.client")),
      pool_("out-" + options_.dependency, options_.threads, registry) {
  global_init();
  if (!options_.ca_bundle.empty()) require_certificates(options_.ca_bundle);
}

HttpClient::~HttpClient() { pool_.join(); }

asio::awaitable<OutboundResponse> HttpClient::send(OutboundRequest request) {
  auto response = co_await pool_.run([this, &request] { return perform(request); });
  co_return response;
}

OutboundResponse HttpClient::send_blocking(const OutboundRequest& request) { return perform(request); }

OutboundResponse HttpClient::perform(const OutboundRequest& request) {
  const auto started = std::chrono::steady_clock::now();
  CURL* c = thread_handle();
  OutboundResponse response;
  Sink sink{&response.body, request.max_response_bytes};
  std::unique_ptr<curl_slist, SlistDeleter> headers;
  for (const auto& [name, value] : request.headers) {
    headers.reset(curl_slist_append(headers.release(), (name + ": " + value).c_str()));
  }
  curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  if (!request.body.empty() || request.method == "POST" || request.method == "PUT") {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, options_.https_only ? "https" : "http,https");
  // Verification is on in libcurl by default; said here so that no other setting can turn it off.
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(c, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
  if (!options_.ca_bundle.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, options_.ca_bundle.c_str());
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);  // redirects are the caller's decision
  curl_easy_setopt(c, CURLOPT_USERAGENT, options_.user_agent.c_str());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");  // any encoding curl can decode
  const CURLcode code = curl_easy_perform(c);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  duration_.observe(seconds);
  if (code != CURLE_OK) {
    const auto kind = sink.overflow ? OutboundError::Kind::too_large : kind_of(code);
    requests_.with({options_.dependency, kind_label(kind)}).inc();
    // The URL may carry credentials in its query; only the dependency name is logged.
    log_.warn("outbound request failed", {{"dependency", options_.dependency}, {"error", curl_easy_strerror(code)}});
    throw OutboundError(kind, sink.overflow ? "response larger than " + std::to_string(request.max_response_bytes) + " bytes"
                                            : std::string(curl_easy_strerror(code)));
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &response.status);
  char* ct = nullptr;
  if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct) response.content_type = ct;
  requests_.with({options_.dependency, std::to_string(response.status)}).inc();
  return response;
}

}  // namespace nsl::http
