#include "nsl/core/errors.hpp"

namespace nsl {

int status_of(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::bad_request:
      return 400;
    case ErrorKind::unauthorized:
      return 401;
    case ErrorKind::forbidden:
      return 403;
    case ErrorKind::not_found:
      return 404;
    case ErrorKind::method_not_allowed:
      return 405;
    case ErrorKind::request_timeout:
      return 408;
    case ErrorKind::conflict:
      return 409;
    case ErrorKind::payload_too_large:
      return 413;
    case ErrorKind::unsupported_media_type:
      return 415;
    case ErrorKind::headers_too_large:
      return 431;
    case ErrorKind::too_many_requests:
      return 429;
    case ErrorKind::internal:
      return 500;
    case ErrorKind::unavailable:
      return 503;
    case ErrorKind::timeout:
      return 504;
  }
  return 500;
}

const char* slug_of(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::bad_request:
      return "bad-request";
    case ErrorKind::unauthorized:
      return "unauthorized";
    case ErrorKind::forbidden:
      return "forbidden";
    case ErrorKind::not_found:
      return "not-found";
    case ErrorKind::method_not_allowed:
      return "method-not-allowed";
    case ErrorKind::request_timeout:
      return "request-timeout";
    case ErrorKind::conflict:
      return "conflict";
    case ErrorKind::payload_too_large:
      return "payload-too-large";
    case ErrorKind::unsupported_media_type:
      return "unsupported-media-type";
    case ErrorKind::headers_too_large:
      return "headers-too-large";
    case ErrorKind::too_many_requests:
      return "too-many-requests";
    case ErrorKind::internal:
      return "internal";
    case ErrorKind::unavailable:
      return "unavailable";
    case ErrorKind::timeout:
      return "timeout";
  }
  return "internal";
}

const char* title_of(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::bad_request:
      return "Bad Request";
    case ErrorKind::unauthorized:
      return "Unauthorized";
    case ErrorKind::forbidden:
      return "Forbidden";
    case ErrorKind::not_found:
      return "Not Found";
    case ErrorKind::method_not_allowed:
      return "Method Not Allowed";
    case ErrorKind::request_timeout:
      return "Request Timeout";
    case ErrorKind::conflict:
      return "Conflict";
    case ErrorKind::payload_too_large:
      return "Payload Too Large";
    case ErrorKind::unsupported_media_type:
      return "Unsupported Media Type";
    case ErrorKind::headers_too_large:
      return "Request Header Fields Too Large";
    case ErrorKind::too_many_requests:
      return "Too Many Requests";
    case ErrorKind::internal:
      return "Internal Server Error";
    case ErrorKind::unavailable:
      return "Service Unavailable";
    case ErrorKind::timeout:
      return "Request Timed Out";
  }
  return "Internal Server Error";
}

}  // namespace nsl
