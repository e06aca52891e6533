#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace nsl {

/// The kinds of failure a request can end in. Each maps to one HTTP status and one stable
/// problem `type` URI, so clients can branch on the kind without parsing messages.
enum class ErrorKind {
  bad_request,
  unauthorized,
  forbidden,
  not_found,
  method_not_allowed,
  request_timeout,
  conflict,
  payload_too_large,
  unsupported_media_type,
  headers_too_large,
  too_many_requests,
  internal,
  unavailable,
  timeout,
};

/// HTTP status code of an error kind.
int status_of(ErrorKind kind) noexcept;
/// Stable slug of an error kind, as used in the problem `type` URI (e.g. "not-found").
const char* slug_of(ErrorKind kind) noexcept;
/// Short human title of an error kind (RFC 9457 `title`).
const char* title_of(ErrorKind kind) noexcept;

/// One invalid input field: its JSON path or name and what is wrong with it.
struct FieldError {
  std::string field;
  std::string message;
};

/// A request failure. `what()` is the public detail, safe to show to a client; the internal
/// message is only ever logged. Thrown by handlers and turned into problem+json in one place.
class RequestError : public std::runtime_error {
 public:
  RequestError(ErrorKind kind, const std::string& public_detail, std::string internal = {})
      : std::runtime_error(public_detail), kind_(kind), internal_(std::move(internal)) {}

  ErrorKind kind() const noexcept { return kind_; }
  const std::string& internal_message() const noexcept { return internal_; }
  const std::vector<FieldError>& field_errors() const noexcept { return fields_; }
  const std::vector<std::pair<std::string, std::string>>& headers() const noexcept { return headers_; }

  /// Adds an invalid field to the error (400 responses name the fields).
  RequestError& with_field(std::string field, std::string message) {
    fields_.push_back({std::move(field), std::move(message)});
    return *this;
  }
  /// Adds a response header (Allow, Retry-After, ...).
  RequestError& with_header(std::string name, std::string value) {
    headers_.emplace_back(std::move(name), std::move(value));
    return *this;
  }

 private:
  ErrorKind kind_;
  std::string internal_;
  std::vector<FieldError> fields_;
  std::vector<std::pair<std::string, std::string>> headers_;
};

/// A 400 naming one invalid field: the detail reads "<field> <message>" ("name must be 1 to 100
/// characters") and the problem's `errors` list holds the field and the message.
inline RequestError field_error(const std::string& field, const std::string& message) {
  return std::move(RequestError(ErrorKind::bad_request, field + " " + message).with_field(field, message));
}

// Name is a class name and kind_value an enumerator: neither can take parentheses.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define NSL_DEFINE_REQUEST_ERROR(Name, kind_value)                                   \
  class Name : public RequestError {                                                 \
   public:                                                                           \
    explicit Name(const std::string& public_detail, std::string internal = {})       \
        : RequestError(ErrorKind::kind_value, public_detail, std::move(internal)) {} \
  };
// NOLINTEND(bugprone-macro-parentheses)

NSL_DEFINE_REQUEST_ERROR(BadRequest, bad_request)
NSL_DEFINE_REQUEST_ERROR(Unauthorized, unauthorized)
NSL_DEFINE_REQUEST_ERROR(Forbidden, forbidden)
NSL_DEFINE_REQUEST_ERROR(NotFound, not_found)
NSL_DEFINE_REQUEST_ERROR(Conflict, conflict)
NSL_DEFINE_REQUEST_ERROR(TooManyRequests, too_many_requests)
NSL_DEFINE_REQUEST_ERROR(Unavailable, unavailable)
#undef NSL_DEFINE_REQUEST_ERROR

/// A failure of something the server depends on (the database, the cache). `transient()` says a
/// retry may succeed (connection lost, server restarting, serialization conflict): a request that
/// meets one is answered 503 with Retry-After; any other is a 500. The message may name internals
/// and is only ever logged.
class DependencyError : public std::runtime_error {
 public:
  DependencyError(std::string dependency, bool transient, const std::string& message)
      : std::runtime_error(message), dependency_(std::move(dependency)), transient_(transient) {}
  const std::string& dependency() const noexcept { return dependency_; }
  bool transient() const noexcept { return transient_; }

 private:
  std::string dependency_;
  bool transient_;
};

/// A startup or configuration failure: stops the program before the listener opens.
class StartupError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace nsl
